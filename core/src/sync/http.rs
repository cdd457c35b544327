//! The sync client's HTTP transport (reqwest, blocking, rustls): the `/v1/` endpoints, with answers mapped to
//! the core's errors — connection failures and 5xx are retryable, a 4xx carries the server's JSON error code,
//! and `device_revoked` becomes [`Error::DeviceRevoked`].

use std::io::Read;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;

use super::client::Transport;
use super::protocol::{ApiError, EnrollRequest, EnrollResponse, MAX_BLOB_BYTES, MAX_BODY_BYTES};
use crate::error::{Error, Result};

/// Talks to one server over HTTP(S).
pub struct HttpTransport {
    client: Client,
    base: String,
    token: Option<String>,
}

impl HttpTransport {
    /// A transport for the server at `base_url` (`http://` or `https://`), with the device token once enrolled.
    pub fn new(base_url: &str, token: Option<&str>) -> Result<HttpTransport> {
        let base = base_url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() > 500 {
            return Err(Error::invalid("server", format!("{base_url:?} is not an http(s) URL")));
        }
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| Error::Network(e.to_string()))?;
        Ok(HttpTransport { client, base, token: token.map(str::to_string) })
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
        if status.is_success() {
            return Ok(response);
        }
        let body = read_bounded(response, 64 * 1024).unwrap_or_default();
        Err(error_from(status, &body))
    }

    fn blob_url(&self, hash: &str) -> Result<String> {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid("blob", format!("{hash:?} is not a SHA-256")));
        }
        Ok(format!("{}/v1/blobs/{hash}", self.base))
    }
}

/// Maps a failed answer to an error: 5xx and 429 are retryable, a 4xx carries the server's code.
fn error_from(status: StatusCode, body: &[u8]) -> Error {
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Error::ServerUnavailable(format!("HTTP {status}"));
    }
    let api: Option<ApiError> = serde_json::from_slice(body).ok();
    let (code, message) = match api {
        Some(a) => (a.code, a.message),
        None => (
            match status {
                StatusCode::UNAUTHORIZED => "unauthorized".to_string(),
                StatusCode::FORBIDDEN => "forbidden".to_string(),
                StatusCode::NOT_FOUND => "not_found".to_string(),
                _ => "server_refused".to_string(),
            },
            format!("HTTP {status}"),
        ),
    };
    if code == "device_revoked" {
        return Error::DeviceRevoked;
    }
    Error::ServerRefused { code, message }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_errors() {
        let revoked = br#"{"code":"device_revoked","message":"gone"}"#;
        assert_eq!(error_from(StatusCode::FORBIDDEN, revoked).code(), "device_revoked");
        let forged = br#"{"code":"forbidden_change","message":"actor"}"#;
        assert_eq!(error_from(StatusCode::FORBIDDEN, forged).code(), "forbidden_change");
        assert_eq!(error_from(StatusCode::BAD_GATEWAY, b"").code(), "server_unavailable");
        assert_eq!(error_from(StatusCode::UNAUTHORIZED, b"junk").code(), "unauthorized");
        assert!(HttpTransport::new("ftp://x", None).is_err());
    }
}
