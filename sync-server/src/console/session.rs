//! Sign-in sessions: an HttpOnly, SameSite=Strict cookie (Secure under TLS) naming a server-side session,
//! which expires after 30 idle minutes or 12 hours in all; a CSRF token per session that every
//! state-changing request must carry; sign-in throttling per account and per address; and the audit log
//! every sign-in and action is written to.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::i18n::{Lang, Tr};
use super::Console;
use crate::access::{hash_secret, new_token};
use crate::error::{Result, ServerError};
use crate::storage::{AuditEntry, ConsoleStorage, Device, Session, Staff};

/// The session cookie.
pub const SESSION_COOKIE: &str = "gl_session";
/// The language cookie.
pub const LANG_COOKIE: &str = "gl_lang";
/// A session ends after this long without a request.
pub const IDLE_EXPIRY_SECS: i64 = 30 * 60;
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE_EXPIRY_SECS: i64 = 12 * 3600;
/// Failed sign-ins allowed per account within [`THROTTLE_WINDOW`] before more are refused.
pub const THROTTLE_FAILURES: u32 = 5;
/// Failed sign-ins allowed per address (higher: a station's staff share one office address).
pub const THROTTLE_ADDRESS_FAILURES: u32 = 20;
/// The window failed sign-ins are counted in; a throttled account or address waits until it has passed.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The page language of a request.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_cookie(cookie(headers, LANG_COOKIE))
}

/// A `Set-Cookie` value for the console's path.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, http_only: bool, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/console; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("gl_invalid=1"))
}

/// The client's address (for throttling and the audit log). A request from loopback carrying
/// `X-Forwarded-For` came through the reverse proxy on this host: the address the proxy appended last is the
/// client's (earlier ones are whatever the client claimed).
pub fn address_of(parts: &Parts) -> String {
    client_address(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0), &parts.headers)
}

/// See [`address_of`].
pub fn client_address(peer: Option<SocketAddr>, headers: &HeaderMap) -> String {
    let Some(peer) = peer else { return String::new() };
    if peer.ip().is_loopback() {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|last| last.trim().parse::<IpAddr>().ok());
        if let Some(client) = forwarded {
            return client.to_string();
        }
    }
    peer.ip().to_string()
}

/// A signed-in staff member, extracted from the session cookie; a request without a live session is sent to
/// the sign-in page (or answered 401 when it asked for a fragment).
pub struct Staffer {
    /// The account.
    pub staff: Staff,
    /// The session.
    pub session: Session,
    /// The page language.
    pub lang: Lang,
    /// The client address.
    pub address: String,
}

impl Staffer {
    /// The page's words.
    pub fn tr(&self) -> Tr {
        Tr::new(self.lang)
    }

    /// The account's device row (its actor and role in the engine's checks).
    pub fn device(&self) -> Device {
        crate::staff::device_of(&self.staff)
    }

    /// The account as a device identity of the core (for the replica's `*_as` calls).
    pub fn identity(&self) -> gridline_core::store::DeviceInfo {
        gridline_core::store::DeviceInfo {
            device_id: self.staff.staff_id.clone(),
            user: self.staff.user.clone(),
            role: self.staff.role,
            community_id: self.staff.community_id.clone(),
            grids: vec![],
            buildings: vec![],
        }
    }

    /// Refuses a state-changing request whose CSRF token is not the session's (403).
    pub fn check_csrf(&self, token: &str) -> Result<()> {
        if !constant_time_eq(token.as_bytes(), self.session.csrf.as_bytes()) {
            return Err(ServerError::new(
                StatusCode::FORBIDDEN,
                gridline_core::ErrorCode::Unauthorized,
                "csrf token missing or wrong",
            ));
        }
        Ok(())
    }

    /// An audit entry by this staff member.
    pub fn audit(&self, action: &str, target: &str, detail: &str) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: chrono::Utc::now().timestamp(),
            community_id: self.staff.community_id.clone(),
            user: self.staff.user.clone(),
            action: action.to_string(),
            target: target.to_string(),
            detail: detail.to_string(),
            address: self.address.clone(),
        }
    }
}

/// A form that carries nothing but the CSRF token (a button that deletes or disables something).
#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// Compares secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a request has no staff member.
pub enum NoSession {
    /// Never signed in, or signed out.
    Missing,
    /// The session expired (idle or absolute).
    Expired,
    /// Storage failed.
    Failed(ServerError),
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            NoSession::Failed(e) => e.into_response(),
            NoSession::Missing => Redirect::to("/console/login").into_response(),
            NoSession::Expired => Redirect::to("/console/login?expired=1").into_response(),
        }
    }
}

impl FromRequestParts<Arc<Console>> for Staffer {
    type Rejection = NoSession;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> std::result::Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or(NoSession::Missing)?;
        let token_hash = hash_secret(token);
        let lang = lang_of(&parts.headers);
        let address = address_of(parts);
        let found = console
            .blocking(move |c| {
                let storage = c.app.engine.storage();
                let Some(session) = storage.session(&token_hash)? else { return Ok(Err(NoSession::Missing)) };
                let now = c.app.clock.now().timestamp();
                if now - session.last_seen > IDLE_EXPIRY_SECS || now - session.created_at > ABSOLUTE_EXPIRY_SECS {
                    storage.delete_session(&token_hash)?;
                    return Ok(Err(NoSession::Expired));
                }
                let Some(staff) = storage.staff(&session.staff_id)?.filter(|s| !s.disabled) else {
                    storage.delete_session(&token_hash)?;
                    return Ok(Err(NoSession::Missing));
                };
                // Touch at most once a minute: the idle expiry does not need second precision.
                if now - session.last_seen >= 60 {
                    storage.touch_session(&token_hash, now)?;
                }
                Ok(Ok((staff, session)))
            })
            .await
            .map_err(NoSession::Failed)??;
        Ok(Staffer { staff: found.0, session: found.1, lang, address })
    }
}

/// Starts a session for `staff`; returns the cookie value.
pub fn start(console: &Console, staff: &Staff) -> Result<String> {
    let token = new_token()?;
    let now = console.app.clock.now().timestamp();
    let session = Session {
        token_hash: hash_secret(&token),
        staff_id: staff.staff_id.clone(),
        csrf: new_token()?,
        created_at: now,
        last_seen: now,
    };
    console.app.engine.storage().put_session(&session)?;
    Ok(token)
}

/// Failed sign-ins per account name and per address, counted in storage: every instance on a database (and
/// every restart) sees the same counts, so a guesser spreading attempts over instances gains nothing.
pub struct Throttle;

impl Throttle {
    fn keys(user: &str, address: &str) -> [String; 2] {
        [format!("user:{}", user.to_lowercase()), format!("addr:{}", network_of(address))]
    }

    /// Whether a sign-in for `user` from `address` is refused now (`now`: Unix seconds).
    pub fn blocked(storage: &dyn ConsoleStorage, user: &str, address: &str, now: i64) -> Result<bool> {
        let [account, network] = Throttle::keys(user, address);
        let window = THROTTLE_WINDOW.as_secs() as i64;
        Ok(storage.throttle_failures(&account, now, window)? >= THROTTLE_FAILURES
            || storage.throttle_failures(&network, now, window)? >= THROTTLE_ADDRESS_FAILURES)
    }

    /// Counts a failed sign-in.
    pub fn failed(storage: &dyn ConsoleStorage, user: &str, address: &str, now: i64) -> Result<()> {
        let [account, network] = Throttle::keys(user, address);
        storage.throttle_failed(&[&account, &network], now, THROTTLE_WINDOW.as_secs() as i64)
    }

    /// Forgets an account's failures after it signed in.
    pub fn succeeded(storage: &dyn ConsoleStorage, user: &str) -> Result<()> {
        storage.throttle_clear(&format!("user:{}", user.to_lowercase()))
    }
}

/// The address a throttle counts by: an IPv6 client by its /64 (one host holds a whole /64).
fn network_of(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_block_the_account_from_any_address_and_then_the_address_for_any_account() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = crate::storage::sqlite::SqliteStorage::open(dir.path()).expect("storage");
        // A second process on the same store (another instance) counts with the first.
        let second = crate::storage::sqlite::SqliteStorage::open(dir.path()).expect("storage");
        let now = 1_800_000_000;
        for i in 0..THROTTLE_FAILURES {
            let s: &dyn ConsoleStorage = if i % 2 == 0 { &first } else { &second };
            assert!(!Throttle::blocked(s, "wang", "10.0.0.1", now).expect("read"));
            Throttle::failed(s, "wang", "10.0.0.1", now).expect("count");
        }
        assert!(Throttle::blocked(&first, "Wang", "10.0.0.9", now).expect("read"));
        assert!(Throttle::blocked(&second, "wang", "10.0.0.9", now).expect("read"), "every instance refuses");
        assert!(!Throttle::blocked(&first, "li", "10.0.0.1", now).expect("read"), "colleagues at the same address");
        for i in THROTTLE_FAILURES..THROTTLE_ADDRESS_FAILURES {
            Throttle::failed(&second, &format!("guess{i}"), "10.0.0.1", now).expect("count");
        }
        assert!(Throttle::blocked(&first, "li", "10.0.0.1", now).expect("read"), "a guessing address is stopped");
        assert!(!Throttle::blocked(&first, "li", "10.0.0.2", now).expect("read"));
        let later = now + THROTTLE_WINDOW.as_secs() as i64;
        assert!(!Throttle::blocked(&first, "wang", "10.0.0.9", later).expect("read"), "the window ended");
        // A failure after the window starts a new count, and forgets the keys whose window ended.
        Throttle::failed(&first, "wang", "10.0.0.9", later).expect("count");
        assert!(!Throttle::blocked(&first, "wang", "10.0.0.9", later).expect("read"));
        Throttle::succeeded(&second, "WANG").expect("clear");
        assert_eq!(first.throttle_failures("user:wang", later, 900).expect("read"), 0);
    }

    #[test]
    fn only_a_proxy_on_loopback_names_the_client() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 203.0.113.7"));
        let local: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let remote: SocketAddr = "198.51.100.2:5000".parse().expect("addr");
        assert_eq!(client_address(Some(local), &h), "203.0.113.7");
        assert_eq!(client_address(Some(remote), &h), "198.51.100.2", "a client's own header names nobody");
        assert_eq!(client_address(Some(local), &HeaderMap::new()), "127.0.0.1");
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        assert_eq!(network_of("2001:db8:1:2:aaaa::1"), network_of("2001:db8:1:2:bbbb::9"));
        assert_ne!(network_of("2001:db8:1:2::1"), network_of("2001:db8:1:3::1"));
    }

    #[test]
    fn cookies_are_read_from_any_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; gl_session=abc"));
        h.append(header::COOKIE, HeaderValue::from_static("gl_lang=en"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(lang_of(&h), Lang::En);
        assert_eq!(cookie(&h, "missing"), None);
    }
}
