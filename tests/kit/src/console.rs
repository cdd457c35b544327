//! A staff member's browser, as far as the console's HTTP goes: a staff account made with `admin staff add`,
//! sign-in through `/console/login`, the session cookie kept by hand, the CSRF token read from the pages, and
//! redirects left to the caller so tests see every 303.

use std::io::Write;
use std::process::Stdio;

use reqwest::blocking::{Client, Response};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::server::Server;

/// A signed-in staff member.
pub struct StaffClient {
    /// Sign-in name.
    pub user: String,
    /// `gl_session=…` (empty before sign-in).
    pub cookie: String,
    /// The session's CSRF token, as the pages carry it.
    pub csrf: String,
    base: String,
    http: Client,
}

impl Server {
    /// Creates a console account with `admin staff add` (password on standard input); returns its JSON.
    pub fn staff(&self, community: &str, user: &str, role: &str, password: &str) -> serde_json::Value {
        let mut child = self
            .admin_command()
            .args(["--json", "staff", "add", "--community", community, "--user", user, "--role", role])
            .arg("--password-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn admin staff add");
        writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write password");
        let out = child.wait_with_output().expect("admin staff add");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        assert!(out.status.success(), "admin staff add failed: {doc}");
        doc
    }

    /// A client for the console that does not follow redirects.
    pub fn console_client(&self) -> StaffClient {
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client");
        StaffClient { user: String::new(), cookie: String::new(), csrf: String::new(), base: self.url(""), http }
    }

    /// Creates an account and signs it in.
    pub fn signed_in_staff(&self, community: &str, user: &str, role: &str) -> StaffClient {
        let password = "correct horse battery";
        self.staff(community, user, role, password);
        let mut c = self.console_client();
        let res = c.sign_in(user, password);
        assert_eq!(res.status().as_u16(), 303, "sign-in of {user}");
        c
    }
}

impl StaffClient {
    /// POSTs the sign-in form; keeps the session cookie and reads the CSRF token from the queue page.
    pub fn sign_in(&mut self, user: &str, password: &str) -> Response {
        let res = self
            .http
            .post(format!("{}/console/login", self.base))
            .form(&[("user", user), ("password", password)])
            .send()
            .expect("send");
        if let Some(cookie) = res.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()) {
            self.cookie = cookie.split(';').next().unwrap_or_default().to_string();
            self.user = user.to_string();
            let page = self.get("/console/queue").text().expect("queue page");
            self.csrf = csrf_of(&page).unwrap_or_default();
        }
        res
    }

    /// GET with the session cookie.
    pub fn get(&self, path: &str) -> Response {
        self.http.get(format!("{}{path}", self.base)).header(COOKIE, &self.cookie).send().expect("send")
    }

    /// Opens the console's live updates (`/console/events`): the incident ids of each event arrive on the
    /// receiver with the moment they came, until the stream ends.
    pub fn live_updates(&self) -> std::sync::mpsc::Receiver<(std::time::Instant, String)> {
        use std::io::{BufRead, BufReader};
        let res = self.get("/console/events");
        assert_eq!(res.status().as_u16(), 200, "GET /console/events");
        let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(res).lines() {
                let Ok(line) = line else { return };
                if let Some(ids) = line.strip_prefix("data:") {
                    if tx.send((std::time::Instant::now(), ids.trim().to_string())).is_err() {
                        return;
                    }
                }
            }
        });
        rx
    }

    /// GET that must answer 200; returns the page.
    pub fn page(&self, path: &str) -> String {
        let res = self.get(path);
        assert_eq!(res.status().as_u16(), 200, "GET {path}");
        res.text().expect("page")
    }

    /// POSTs a form with the session cookie and the CSRF token.
    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let mut fields: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(path, &fields)
    }

    /// POSTs a form exactly as given (no CSRF token added).
    pub fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http.post(format!("{}{path}", self.base)).header(COOKIE, &self.cookie).form(form).send().expect("send")
    }

    /// The `Location` of a redirect.
    pub fn location(res: &Response) -> String {
        res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }
}

/// The CSRF token a console page carries (`<body data-csrf="…">`).
pub fn csrf_of(page: &str) -> Option<String> {
    let start = page.find("data-csrf=\"")? + "data-csrf=\"".len();
    let len = page[start..].find('"')?;
    Some(page[start..start + len].to_string()).filter(|t| !t.is_empty())
}
