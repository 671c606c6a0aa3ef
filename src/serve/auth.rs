//! Who may use the server: loopback by default; any other address only with an API key (or an
//! explicit `--insecure`); the key compared in constant time, so response times do not leak how
//! much of a guess was right.
use std::net::IpAddr;

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// Refuses to listen on a non-loopback address without a key unless told `insecure`.
pub fn check_bind(host: &str, api_key: Option<&str>, insecure: bool) -> Result<(), String> {
    let loopback = match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    if loopback || api_key.is_some_and(|k| !k.is_empty()) || insecure {
        return Ok(());
    }
    Err(format!(
        "refusing to listen on {host} without an API key: anyone who can reach it could use the \
         model. Give --api-key KEY (or GEMMA_TUI_API_KEY), or --insecure to do it anyway"
    ))
}

/// Whether the request carries `Authorization: Bearer KEY` (or llama-server's `X-Api-Key`).
pub fn authorized(headers: &HeaderMap, key: &str) -> bool {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()));
    match given {
        // ct_eq on slices of different lengths is false (it leaks the length only).
        Some(given) => bool::from(given.trim().as_bytes().ct_eq(key.as_bytes())),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_needs_a_key_or_insecure() {
        assert!(check_bind("127.0.0.1", None, false).is_ok());
        assert!(check_bind("::1", None, false).is_ok());
        assert!(check_bind("localhost", None, false).is_ok());
        assert!(check_bind("0.0.0.0", None, false)
            .unwrap_err()
            .contains("--api-key"));
        assert!(check_bind("0.0.0.0", Some(""), false).is_err());
        assert!(check_bind("0.0.0.0", Some("k"), false).is_ok());
        assert!(check_bind("192.168.1.5", None, true).is_ok());
    }

    #[test]
    fn bearer_key_is_checked() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "secret"));
        h.insert("authorization", "Bearer secret".parse().unwrap());
        assert!(authorized(&h, "secret"));
        h.insert("authorization", "Bearer secre".parse().unwrap());
        assert!(!authorized(&h, "secret"));
        h.insert("authorization", "Basic secret".parse().unwrap());
        assert!(!authorized(&h, "secret"));
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "secret".parse().unwrap());
        assert!(authorized(&h, "secret"));
    }
}
