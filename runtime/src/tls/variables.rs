//! The `$ssl_*` variables of a session whose client side is TLS (`listen ... ssl`), each in
//! the exact format nginx's `ngx_ssl_get_*` functions produce.

use openssl::hash::MessageDigest;
use openssl::ssl::{NameType, SslRef};
use openssl::x509::{X509Ref, X509VerifyResult};

use super::ffi::{self, ClientCipher, Group};

/// The variables this module provides.
pub const NAMES: &[&str] = &[
    "ssl_protocol",
    "ssl_cipher",
    "ssl_ciphers",
    "ssl_curve",
    "ssl_curves",
    "ssl_session_id",
    "ssl_session_reused",
    "ssl_server_name",
    "ssl_alpn_protocol",
    "ssl_client_verify",
    "ssl_client_s_dn",
    "ssl_client_i_dn",
    "ssl_client_serial",
    "ssl_client_fingerprint",
    "ssl_client_cert",
    "ssl_client_raw_cert",
    "ssl_client_escaped_cert",
    "ssl_client_v_start",
    "ssl_client_v_end",
    "ssl_client_v_remain",
];

/// The `ssl_preread_*` variables.
pub const PREREAD_NAMES: &[&str] =
    &["ssl_preread_protocol", "ssl_preread_server_name", "ssl_preread_alpn_protocols"];

/// True for the names [`value`] knows.
pub fn is_ssl_variable(name: &str) -> bool {
    NAMES.contains(&name)
}

/// Checks an `ssl_*` name used in the configuration: `Ok(true)` for a preread variable,
/// `Ok(false)` for a variable of a terminated session; the error text otherwise (the ones
/// strait does not provide yet are refused before, from crate::unsupported).
pub fn check_name(name: &str) -> Result<bool, String> {
    if PREREAD_NAMES.contains(&name) {
        return Ok(true);
    }
    if NAMES.contains(&name) {
        return Ok(false);
    }
    Err(format!("unknown \"{name}\" variable"))
}

/// The value of `$name` for a TLS session, `None` when it is not found. As in nginx
/// (`ngx_stream_ssl_variable`), an empty value is not found (an access log prints `-`, a
/// `return` nothing), except for `$ssl_protocol` and `$ssl_cipher`, which nginx reads with
/// `ngx_stream_ssl_static_variable` and always finds. The SSL object may be one whose
/// handshake failed or never finished: nginx reads the same state in its log phase.
pub fn value(ssl: &SslRef, name: &str) -> Option<Vec<u8>> {
    let value = match name {
        "ssl_protocol" => return Some(ssl.version_str().as_bytes().to_vec()),
        // `SSL_get_cipher_name`: `(NONE)` before a cipher is chosen.
        "ssl_cipher" => {
            let cipher = ssl.current_cipher().map_or("(NONE)", |c| c.name());
            return Some(cipher.as_bytes().to_vec());
        }
        "ssl_ciphers" => client_ciphers(ssl).into_bytes(),
        "ssl_curve" => ffi::negotiated_group(ssl).map(group_name).unwrap_or_default().into(),
        "ssl_curves" => client_groups(ssl).into_bytes(),
        "ssl_session_id" => ssl.session().map(|s| hex_lower(s.id())).unwrap_or_default().into(),
        "ssl_session_reused" => if ssl.session_reused() { "r" } else { "." }.into(),
        "ssl_server_name" => ssl.servername(NameType::HOST_NAME).unwrap_or_default().into(),
        "ssl_alpn_protocol" => ssl.selected_alpn_protocol().unwrap_or_default().to_vec(),
        "ssl_client_verify" => client_verify(ssl).into_bytes(),
        _ if !is_ssl_variable(name) => return None,
        _ => match ssl.peer_certificate() {
            Some(cert) => certificate_value(&cert, name)?,
            None => Vec::new(),
        },
    };
    (!value.is_empty()).then_some(value)
}

/// `$ssl_client_verify`: `NONE`, `SUCCESS` or `FAILED:reason`.
fn client_verify(ssl: &SslRef) -> String {
    if ssl.peer_certificate().is_none() {
        return "NONE".to_string();
    }
    let result = ssl.verify_result();
    if result == X509VerifyResult::OK {
        return "SUCCESS".to_string();
    }
    format!("FAILED:{}", result.error_string())
}

/// The variables read from the client certificate.
fn certificate_value(cert: &X509Ref, name: &str) -> Option<Vec<u8>> {
    let value = match name {
        "ssl_client_s_dn" => ffi::name_rfc2253(cert.subject_name()),
        "ssl_client_i_dn" => ffi::name_rfc2253(cert.issuer_name()),
        "ssl_client_serial" => serial(cert),
        "ssl_client_fingerprint" => {
            cert.digest(MessageDigest::sha1()).map(|d| hex_lower(&d)).unwrap_or_default()
        }
        "ssl_client_raw_cert" => {
            String::from_utf8_lossy(&cert.to_pem().unwrap_or_default()).into_owned()
        }
        "ssl_client_cert" => indented_pem(&cert.to_pem().unwrap_or_default()),
        "ssl_client_escaped_cert" => escape_uri_component(&cert.to_pem().unwrap_or_default()),
        "ssl_client_v_start" => cert.not_before().to_string(),
        "ssl_client_v_end" => cert.not_after().to_string(),
        "ssl_client_v_remain" => days_remaining(cert),
        _ => return None,
    };
    Some(value.into_bytes())
}

/// `$ssl_ciphers` (`ngx_ssl_get_ciphers`): the client's cipher suites joined by `:`, each by
/// its OpenSSL name, or as `0x` and its bytes in lower-case hex when OpenSSL does not know it.
fn client_ciphers(ssl: &SslRef) -> String {
    let names: Vec<String> = ffi::client_ciphers(ssl)
        .into_iter()
        .map(|cipher| match cipher {
            ClientCipher::Known(name) => name.to_string(),
            ClientCipher::Unknown(bytes) => format!("0x{}", hex_lower(&bytes)),
        })
        .collect();
    names.join(":")
}

/// `$ssl_curves` (`ngx_ssl_get_curves`): the client's supported groups joined by `:`.
fn client_groups(ssl: &SslRef) -> String {
    let names: Vec<String> = ffi::client_groups(ssl).into_iter().map(group_name).collect();
    names.join(":")
}

/// A group as nginx 1.22 prints it in `$ssl_curve` and `$ssl_curves`: the NID's short name
/// (`X25519`, `prime256v1`, `ffdhe2048`), or `0x%04x` of the group id for one OpenSSL has no
/// NID for (later nginx asks `SSL_group_to_name` first).
fn group_name(group: Group) -> String {
    match group {
        Group::Known(nid) => nid.short_name().unwrap_or_default().to_string(),
        Group::Unknown(id) => format!("0x{id:04x}"),
    }
}

/// `ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT)`: every byte but ALPHA, DIGIT, `-`, `.`, `_` and
/// `~` as `%XX`, in upper-case hex (`$ssl_client_escaped_cert`).
fn escape_uri_component(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `i2a_ASN1_INTEGER`: upper-case hex, two digits per byte.
fn serial(cert: &X509Ref) -> String {
    let bytes = cert.serial_number().to_bn().map(|bn| bn.to_vec()).unwrap_or_default();
    if bytes.is_empty() {
        return "00".to_string();
    }
    hex_upper(&bytes)
}

/// `$ssl_client_cert`: the PEM without its final newline, a TAB after every other newline.
fn indented_pem(pem: &[u8]) -> String {
    let text = String::from_utf8_lossy(pem);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    text.replace('\n', "\n\t")
}

/// `$ssl_client_v_remain`: whole days until notAfter, `0` within the last day.
fn days_remaining(cert: &X509Ref) -> String {
    let Ok(now) = openssl::asn1::Asn1Time::days_from_now(0) else {
        return "0".to_string();
    };
    let Ok(diff) = now.diff(cert.not_after()) else {
        return "0".to_string();
    };
    let seconds = diff.days as i64 * 86400 + diff.secs as i64;
    if seconds < 86400 {
        return "0".to_string();
    }
    (seconds / 86400).to_string()
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cert(name: &str) -> openssl::x509::X509 {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki").join(name);
        openssl::x509::X509::from_pem(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn distinguished_names_in_rfc2253() {
        let a = cert("client-a.crt");
        assert_eq!(
            certificate_value(&a, "ssl_client_s_dn").unwrap(),
            b"CN=client-a,OU=clients,O=strait test,C=US"
        );
        assert_eq!(
            certificate_value(&a, "ssl_client_i_dn").unwrap(),
            b"CN=strait test CA,O=strait"
        );
    }

    #[test]
    fn certificate_formats() {
        let a = cert("client-a.crt");
        let pem = a.to_pem().unwrap();
        let indented = certificate_value(&a, "ssl_client_cert").unwrap();
        assert!(indented.starts_with(b"-----BEGIN CERTIFICATE-----\n\t"));
        assert!(indented.ends_with(b"-----END CERTIFICATE-----"));
        assert_eq!(certificate_value(&a, "ssl_client_raw_cert").unwrap(), pem);
        let serial =
            String::from_utf8(certificate_value(&a, "ssl_client_serial").unwrap()).unwrap();
        assert_eq!(serial.len() % 2, 0);
        assert!(serial.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        let fp = certificate_value(&a, "ssl_client_fingerprint").unwrap();
        assert_eq!(fp.len(), 40);
        let end = String::from_utf8(certificate_value(&a, "ssl_client_v_end").unwrap()).unwrap();
        assert!(end.ends_with(" GMT"), "{end}");
        let remain: i64 = String::from_utf8(certificate_value(&a, "ssl_client_v_remain").unwrap())
            .unwrap()
            .parse()
            .unwrap();
        assert!(remain > 36000);
    }

    #[test]
    fn escaped_certificate_is_the_pem_as_a_uri_component() {
        let a = cert("client-a.crt");
        let escaped =
            String::from_utf8(certificate_value(&a, "ssl_client_escaped_cert").unwrap()).unwrap();
        assert!(escaped.starts_with("-----BEGIN%20CERTIFICATE-----%0A"), "{escaped}");
        assert!(escaped.ends_with("-----END%20CERTIFICATE-----%0A"), "{escaped}");
        let body = a.to_pem().unwrap();
        let body = String::from_utf8_lossy(&body);
        let expected = body
            .replace(' ', "%20")
            .replace('\n', "%0A")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        assert_eq!(escaped, expected);
    }

    #[test]
    fn uri_component_escape_set() {
        // nginx 1.22's `uri_component` table: RFC 3986's unreserved characters stay.
        let kept: Vec<u8> =
            (0..=255u8).filter(|&b| escape_uri_component(&[b]).len() == 1).collect();
        let unreserved: Vec<u8> = (b'-'..=b'.')
            .chain(b'0'..=b'9')
            .chain(b'A'..=b'Z')
            .chain([b'_'])
            .chain(b'a'..=b'z')
            .chain([b'~'])
            .collect();
        assert_eq!(kept, unreserved);
        assert_eq!(escape_uri_component(b"a b\xff~\n"), "a%20b%FF~%0A");
    }

    #[test]
    fn group_names_as_nginx_1_22() {
        assert_eq!(group_name(Group::Known(openssl::nid::Nid::X9_62_PRIME256V1)), "prime256v1");
        assert_eq!(group_name(Group::Known(openssl::nid::Nid::from_raw(1034))), "X25519");
        assert_eq!(group_name(Group::Unknown(0x0a0a)), "0x0a0a");
        assert_eq!(group_name(Group::Unknown(0x11ec)), "0x11ec");
    }
}
