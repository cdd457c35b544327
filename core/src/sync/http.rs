//! The sync client's HTTP transport (reqwest, blocking, rustls): the `/v1/` endpoints, with answers mapped to
//! the core's errors — connection failures and 5xx are retryable, 429 carries the server's `Retry-After`, a
//! 4xx carries the server's JSON error code (and the document it names), and `device_revoked` becomes
//! [`Error::DeviceRevoked`].
//!
//! Plain `http://` is spoken only to loopback unless the user opted in at enrollment, and redirects are never
//! followed: every answer comes from the enrolled URL, so an answer over TLS or loopback is the enrolled
//! server's own (what a wipe on `device_revoked` requires).

use std::io::Read;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;

use super::protocol::{
    ApiError, DeviceKey, EnrollRequest, EnrollResponse, KeysResponse, MAX_BLOB_BYTES, MAX_BODY_BYTES, MAX_KEYS,
};
use super::refused::RefusedDocument;
use super::transport::Transport;
use crate::error::{Error, Result};

/// Talks to one server over HTTP(S).
pub struct HttpTransport {
    client: Client,
    base: String,
    token: Option<String>,
    /// True over TLS or to loopback: the answers are the enrolled server's own.
    authenticated: bool,
}

/// How a server URL may be spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerLink {
    /// `https://`, or `http://` to loopback (127.0.0.0/8, ::1, localhost).
    Secure,
    /// `http://` to any other host, allowed only because the user opted in.
    InsecureHttp,
}

/// Checks a server URL: `https://` anywhere, `http://` only to loopback unless `insecure_http`.
pub fn check_server_url(base_url: &str, insecure_http: bool) -> Result<ServerLink> {
    let base = base_url.trim();
    let url = reqwest::Url::parse(base)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some() && base.len() <= 500)
        .ok_or_else(|| Error::invalid("server", format!("{base_url:?} is not an http(s) URL")))?;
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let loopback = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
    };
    if url.scheme() == "https" || loopback {
        Ok(ServerLink::Secure)
    } else if insecure_http {
        Ok(ServerLink::InsecureHttp)
    } else {
        Err(Error::InsecureServerUrl(base.to_string()))
    }
}

impl HttpTransport {
    /// A transport for the server at `base_url` with the device token once enrolled. `https://` anywhere;
    /// `http://` to loopback, or to any host when `insecure_http` (the user's explicit choice at enrollment).
    pub fn new(base_url: &str, token: Option<&str>, insecure_http: bool) -> Result<HttpTransport> {
        let link = check_server_url(base_url, insecure_http)?;
        let base = base_url.trim().trim_end_matches('/').to_string();
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Network(e.to_string()))?;
        Ok(HttpTransport { client, base, token: token.map(str::to_string), authenticated: link == ServerLink::Secure })
    }

    fn authorised(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = self.authorised(request).send().map_err(|e| Error::Network(e.to_string()))?;
        let status = response.status();
        // 304 answers a conditional request (the key list); any other redirect is refused below.
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = read_bounded(response, 64 * 1024).unwrap_or_default();
        Err(error_from(status, retry_after, &body))
    }

    fn blob_url(&self, hash: &str) -> Result<String> {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid("blob", format!("{hash:?} is not a SHA-256")));
        }
        Ok(format!("{}/v1/blobs/{hash}", self.base))
    }
}

/// Maps a failed answer to an error: 5xx is retryable, 429 too (after `Retry-After` seconds when given), a
/// 4xx carries the server's code and, when it names one, the refused document.
fn error_from(status: StatusCode, retry_after: Option<u64>, body: &[u8]) -> Error {
    if status == StatusCode::TOO_MANY_REQUESTS {
        // A daily quota is not a busy server: waiting until midnight is no retry, so it ends the sync with
        // its own code and the work stays local.
        if serde_json::from_slice::<ApiError>(body).is_ok_and(|a| a.code == "quota_exceeded") {
            return Error::ServerRefused {
                code: "quota_exceeded".into(),
                message: "this device sent more than the server accepts in a day; sync again tomorrow".into(),
            };
        }
        return Error::RateLimited { retry_after_secs: retry_after };
    }
    if status.is_server_error() {
        return Error::ServerUnavailable(format!("HTTP {status}"));
    }
    if status.is_redirection() {
        return Error::ServerRefused {
            code: "server_refused".into(),
            message: format!("HTTP {status}: redirects are not followed; enroll with the server's final URL"),
        };
    }
    let api = serde_json::from_slice::<ApiError>(body).unwrap_or_else(|_| {
        let code = match status {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            _ => "server_refused",
        };
        ApiError::new(code, format!("HTTP {status}"))
    });
    if api.code == "device_revoked" {
        return Error::DeviceRevoked;
    }
    match api.doc_id {
        Some(doc_id) if status.is_client_error() => Error::DocumentRefused(RefusedDocument {
            doc_id,
            change_hash: api.change_hash,
            code: api.code,
            message: api.message,
            refused_at: String::new(),
        }),
        _ => Error::ServerRefused { code: api.code, message: api.message },
    }
}

/// Reads an answer body, refusing one over `limit` bytes.
fn read_bounded(response: Response, limit: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    response.take(limit as u64 + 1).read_to_end(&mut bytes).map_err(|e| Error::Network(e.to_string()))?;
    if bytes.len() > limit {
        return Err(Error::SyncProtocol(format!("answer over {limit} bytes")));
    }
    Ok(bytes)
}

impl Transport for HttpTransport {
    fn authenticated(&self) -> bool {
        self.authenticated
    }

    fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse> {
        let response = self.send(self.client.post(format!("{}/v1/enroll", self.base)).json(request))?;
        let body = read_bounded(response, 64 * 1024)?;
        serde_json::from_slice(&body).map_err(|e| Error::SyncProtocol(format!("enrollment answer: {e}")))
    }

    fn sync(&self, body: &[u8]) -> Result<Vec<u8>> {
        let request = self
            .client
            .post(format!("{}/v1/sync", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/cbor")
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            // Said explicitly so reqwest never decompresses on its own: the body is decoded (bounded) by
            // `protocol::decode_body`, whatever features reqwest is built with.
            .header(reqwest::header::ACCEPT_ENCODING, "gzip")
            .body(body.to_vec());
        read_bounded(self.send(request)?, MAX_BODY_BYTES)
    }

    fn blob_exists(&self, hash: &str) -> Result<bool> {
        match self.send(self.client.head(self.blob_url(hash)?)) {
            Ok(_) => Ok(true),
            Err(Error::ServerRefused { code, .. }) if code == "not_found" || code == "blob_not_found" => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn put_blob(&self, hash: &str, mime: &str, bytes: &[u8]) -> Result<()> {
        let request = self
            .client
            .put(self.blob_url(hash)?)
            .header(reqwest::header::CONTENT_TYPE, mime.to_string())
            .body(bytes.to_vec());
        self.send(request).map(|_| ())
    }

    fn get_blob(&self, hash: &str) -> Result<Vec<u8>> {
        read_bounded(self.send(self.client.get(self.blob_url(hash)?))?, MAX_BLOB_BYTES)
    }

    fn device_keys(&self, etag: Option<&str>) -> Result<Option<(Vec<DeviceKey>, Option<String>)>> {
        let mut request = self.client.get(format!("{}/v1/keys", self.base));
        if let Some(etag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let response = self.send(request)?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        let etag = response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = read_bounded(response, 200 * MAX_KEYS)?;
        let keys: KeysResponse =
            serde_json::from_slice(&body).map_err(|e| Error::SyncProtocol(format!("key list: {e}")))?;
        if keys.devices.len() > MAX_KEYS {
            return Err(Error::SyncProtocol(format!("key list over {MAX_KEYS} devices")));
        }
        Ok(Some((keys.devices, etag)))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::atomic::AtomicBool;
    use std::time::Instant;

    use super::super::transport::{with_retry, SyncOptions};
    use super::*;

    #[test]
    fn answers_map_to_errors() {
        let revoked = br#"{"code":"device_revoked","message":"gone"}"#;
        assert_eq!(error_from(StatusCode::FORBIDDEN, None, revoked).code(), crate::ErrorCode::DeviceRevoked);
        let forged = br#"{"code":"forbidden_change","message":"actor"}"#;
        assert_eq!(error_from(StatusCode::FORBIDDEN, None, forged).code(), crate::ErrorCode::ForbiddenChange);
        let named =
            br#"{"code":"forbidden_change","message":"m","doc_id":"checkins:c:A:2026-11-20","change_hash":"ab"}"#;
        match error_from(StatusCode::FORBIDDEN, None, named) {
            Error::DocumentRefused(r) => {
                assert_eq!((r.doc_id.as_str(), r.change_hash.as_deref()), ("checkins:c:A:2026-11-20", Some("ab")))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(error_from(StatusCode::BAD_GATEWAY, None, b"").code(), crate::ErrorCode::ServerUnavailable);
        assert_eq!(error_from(StatusCode::UNAUTHORIZED, None, b"junk").code(), crate::ErrorCode::Unauthorized);
        assert_eq!(error_from(StatusCode::TOO_MANY_REQUESTS, Some(3), b"").code(), crate::ErrorCode::RateLimited);
        let quota = br#"{"code":"quota_exceeded","message":"more than 2000 new documents today"}"#;
        let e = error_from(StatusCode::TOO_MANY_REQUESTS, Some(40_000), quota);
        assert_eq!(
            e.code(),
            crate::ErrorCode::QuotaExceeded,
            "a daily quota ends the sync instead of waiting till midnight"
        );
        assert_eq!(error_from(StatusCode::MOVED_PERMANENTLY, None, b"").code(), crate::ErrorCode::ServerRefused);
    }

    #[test]
    fn plain_http_is_spoken_only_to_loopback_unless_opted_in() {
        for url in
            ["http://127.0.0.1:8080", "http://127.9.9.9", "http://[::1]:80/", "http://localhost:1", "https://x.org"]
        {
            assert_eq!(check_server_url(url, false).map_err(|e| e.code()), Ok(ServerLink::Secure), "{url}");
        }
        for url in ["http://10.0.0.2:8080", "http://grid.example.org", "http://[::2]", "http://localhost.evil.org"] {
            assert_eq!(
                check_server_url(url, false).map_err(|e| e.code()),
                Err(crate::ErrorCode::InsecureServerUrl),
                "{url}"
            );
            assert_eq!(check_server_url(url, true).map_err(|e| e.code()), Ok(ServerLink::InsecureHttp), "{url}");
            assert!(!HttpTransport::new(url, None, true).expect("opted in").authenticated, "{url}");
        }
        assert!(HttpTransport::new("http://127.0.0.1:1", None, false).expect("loopback").authenticated);
        assert!(HttpTransport::new("ftp://x", None, true).is_err());
        assert!(HttpTransport::new("not a url", None, true).is_err());
    }

    /// A loopback stub answering each request with the next of `answers`; returns its URL and the times the
    /// requests arrived.
    fn stub(answers: Vec<&'static str>) -> (String, std::thread::JoinHandle<Vec<Instant>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let handle = std::thread::spawn(move || {
            let mut arrivals = Vec::new();
            for answer in answers {
                let (stream, _) = listener.accept().expect("accept");
                let mut reader = BufReader::new(stream);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).expect("header");
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().expect("length");
                    }
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                }
                let mut body = vec![0; length];
                std::io::Read::read_exact(&mut reader, &mut body).expect("body");
                arrivals.push(Instant::now());
                reader.get_mut().write_all(answer.as_bytes()).expect("answer");
            }
            arrivals
        });
        (url, handle)
    }

    const TOO_MANY: &str =
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

    #[test]
    fn a_429_is_retried_after_the_servers_retry_after() {
        let (url, server) = stub(vec![TOO_MANY, OK]);
        let transport = HttpTransport::new(&url, Some("t"), false).expect("transport");
        let opts = SyncOptions { base_delay: Duration::from_millis(1), ..SyncOptions::default() };
        let answer = with_retry(&opts, &AtomicBool::new(false), || transport.sync(b"body")).expect("second try");
        assert_eq!(answer, b"ok");
        let arrivals = server.join().expect("stub");
        let waited = arrivals[1] - arrivals[0];
        assert!(waited >= Duration::from_secs(1), "waited only {waited:?}");
        assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    }

    #[test]
    fn a_retry_after_longer_than_a_sync_waits_ends_the_sync() {
        let (url, server) = stub(vec![TOO_MANY]);
        let transport = HttpTransport::new(&url, Some("t"), false).expect("transport");
        let opts = SyncOptions { max_retry_after: Duration::from_millis(500), ..SyncOptions::default() };
        let started = Instant::now();
        let err = with_retry(&opts, &AtomicBool::new(false), || transport.sync(b"body"));
        assert_eq!(err.map_err(|e| e.code()), Err(crate::ErrorCode::RateLimited));
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(server.join().expect("stub").len(), 1, "no second request");
    }

    #[test]
    fn redirects_are_not_followed() {
        let (url, server) = stub(vec![
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/v1/sync\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ]);
        let transport = HttpTransport::new(&url, Some("t"), false).expect("transport");
        assert_eq!(transport.sync(b"body").map_err(|e| e.code()), Err(crate::ErrorCode::ServerRefused));
        server.join().expect("stub");
    }
}
