//! Fresh databases on the throwaway PostgreSQL cluster the test command starts (tests/pg/cluster.sh), named
//! by `GRIDLINE_TEST_DATABASE_URL`: one per test, dropped when done, so tests never see each other's rows;
//! and, to run the whole server suite on PostgreSQL, a schema per server data directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The variable naming the test cluster's database URL (`postgres://postgres@127.0.0.1:PORT/gridline`).
pub const TEST_DATABASE_URL: &str = "GRIDLINE_TEST_DATABASE_URL";

/// With this variable set (non-empty, not `0`), every server the kit starts without a database of its own
/// runs on a fresh database of the test cluster: the whole server suite on PostgreSQL.
pub const SERVERS_ON_POSTGRES: &str = "GRIDLINE_TEST_SERVERS_ON_POSTGRES";

/// The schema of each data directory a server ran on in this process, by data directory: a server started
/// again on the same directory (after a crash, or to load from "disk") finds what it stored. Schemas are
/// left to the cluster's deletion (a schema costs a few kilobytes; a database several megabytes).
static SCHEMAS: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);

/// The database URL for a server on `data` under [`SERVERS_ON_POSTGRES`]: a schema of its own in the test
/// cluster's database, made on first use. `None` when the mode is off.
pub fn database_for(data: &Path) -> Option<String> {
    if !servers_on_postgres() {
        return None;
    }
    let admin_url = std::env::var(TEST_DATABASE_URL)
        .unwrap_or_else(|_| panic!("{SERVERS_ON_POSTGRES} needs {TEST_DATABASE_URL} (tests/pg/cluster.sh start)"));
    let mut schemas = SCHEMAS.lock().unwrap_or_else(|p| p.into_inner());
    let schemas = schemas.get_or_insert_with(HashMap::new);
    if let Some(url) = schemas.get(data) {
        return Some(url.clone());
    }
    let name = format!("test_{}", uuid::Uuid::now_v7().simple());
    run_statement(&admin_url, &format!("CREATE SCHEMA {name}"));
    let joiner = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{joiner}options=-csearch_path%3D{name}");
    schemas.insert(data.to_path_buf(), url.clone());
    Some(url)
}

/// Runs `sql` on the database at `url` (a test reaching into a server's tables, e.g. to age a session).
pub fn execute(url: &str, sql: &str) {
    run_statement(url, sql);
}

/// A database of its own on the test cluster, dropped on drop.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// Its URL, for `--database-url`.
    pub url: String,
}

/// Runs `sql` on the cluster's own database, outside any transaction (CREATE/DROP DATABASE need that).
fn run_statement(url: &str, sql: &str) {
    simple_query(url, sql);
}

/// The rows `sql` returns on the database at `url`, every value as text (`None` for NULL): a test checking
/// what a server stored (e.g. that no change row is there twice).
pub fn query(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    simple_query(url, sql)
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => {
                Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// `sql` through the simple query protocol (several statements, no parameters, values as text), on a
/// connection of its own.
fn simple_query(url: &str, sql: &str) -> Vec<tokio_postgres::SimpleQueryMessage> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap_or_else(|e| panic!("connect {url}: {e}"));
        let driver = tokio::spawn(connection);
        let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = driver.await;
        messages
    })
}

impl TestDatabase {
    /// A new database, or `None` when no test cluster is configured.
    pub fn create() -> Option<TestDatabase> {
        let admin_url = std::env::var(TEST_DATABASE_URL).ok().filter(|u| !u.is_empty())?;
        let name = format!("test_{}", uuid::Uuid::now_v7().simple());
        let base = admin_url.split('?').next().unwrap_or(&admin_url);
        let slash = base.rfind('/').filter(|i| *i > "postgres://".len());
        let Some(slash) = slash else { panic!("{TEST_DATABASE_URL} names no database: {admin_url}") };
        let url = format!("{}/{name}", &base[..slash]);
        run_statement(&admin_url, &format!("CREATE DATABASE {name}"));
        Some(TestDatabase { admin_url, name, url })
    }

    /// [`TestDatabase::create`], saying on standard error that `test`'s PostgreSQL part is skipped when no
    /// cluster is configured.
    pub fn create_for(test: &str) -> Option<TestDatabase> {
        let db = TestDatabase::create();
        if db.is_none() {
            eprintln!(
                "{test}: PostgreSQL part skipped: {TEST_DATABASE_URL} is not set (tests/run starts a cluster and sets it)"
            );
        }
        db
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        run_statement(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Whether [`SERVERS_ON_POSTGRES`] asks for every server on PostgreSQL.
pub fn servers_on_postgres() -> bool {
    std::env::var(SERVERS_ON_POSTGRES).is_ok_and(|v| !v.is_empty() && v != "0")
}
