//! Private keys and certificates as stored: keyring decryption (AES-CBC) and `$env://` refs.
//!
//! APISIX encrypts `ssl.key` and `upstream.tls.client_key` at rest with the first entry of
//! `apisix.data_encryption.keyring` (`apisix/core/data_encryption.lua`): AES-128-CBC for a
//! 16-byte entry, AES-256-CBC for a 32-byte one; key and IV are the entry itself (the IV is
//! its first 16 bytes); PKCS#7 padding; standard base64. Decryption tries every entry in
//! order. A value that starts with `---` is PEM and passes unchanged.

use base64::Engine;
use openssl::pkey::PKey;
use openssl::symm::{decrypt, Cipher};
use openssl::x509::X509;

/// Resolves a `$env://NAME` reference, rejects `$secret://`, passes any other value through.
pub fn resolve_reference(value: &str) -> Result<String, String> {
    if let Some(name) = value.strip_prefix("$env://") {
        return std::env::var(name)
            .map_err(|_| format!("environment variable {name} (from {value}) is not set"));
    }
    if value.starts_with("$secret://") {
        return Err(format!("{value}: $secret:// references are not supported by strait render"));
    }
    Ok(value.to_owned())
}

/// Whether the value is a reference rather than the material itself.
pub fn is_reference(value: &str) -> bool {
    value.starts_with("$env://") || value.starts_with("$secret://")
}

/// Decrypts a stored private key (`aes_decrypt_pkey`) and checks it is a usable key.
///
/// PEM (anything starting with `---`) is returned unchanged. Otherwise the value is
/// base64-decoded and each keyring entry is tried in order; the first entry whose plaintext
/// parses as a private key wins. The error texts are APISIX's.
pub fn decrypt_private_key(value: &str, keyring: &[String]) -> Result<String, String> {
    // Plaintext passes through, as `aes_decrypt_pkey` does, but must still be a key.
    if value.starts_with("---") {
        return check_private_key(value).map(|()| value.to_owned());
    }
    if keyring.is_empty() {
        return check_private_key(value).map(|()| value.to_owned());
    }

    // Base64 first, then every entry of the keyring in order.
    let ciphertext = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| "base64 decode ssl key failed".to_owned())?;
    for entry in keyring {
        let Some(plaintext) = decrypt_with_entry(entry.as_bytes(), &ciphertext) else {
            continue;
        };
        let Ok(text) = String::from_utf8(plaintext) else {
            continue;
        };
        if check_private_key(&text).is_ok() {
            return Ok(text);
        }
    }
    Err("decrypt ssl key failed: no keyring entry decrypts it to a private key".to_owned())
}

/// AES-CBC with key = entry and IV = the entry's first 16 bytes; `None` on a padding failure.
fn decrypt_with_entry(entry: &[u8], ciphertext: &[u8]) -> Option<Vec<u8>> {
    let cipher = match entry.len() {
        16 => Cipher::aes_128_cbc(),
        32 => Cipher::aes_256_cbc(),
        _ => return None,
    };
    decrypt(cipher, entry, Some(&entry[..16]), ciphertext).ok()
}

/// Encrypts a PEM key the way APISIX stores it (first keyring entry); for tests and tools.
pub fn encrypt_private_key(pem: &str, entry: &str) -> Option<String> {
    let cipher = match entry.len() {
        16 => Cipher::aes_128_cbc(),
        32 => Cipher::aes_256_cbc(),
        _ => return None,
    };
    let key = entry.as_bytes();
    let ciphertext = openssl::symm::encrypt(cipher, key, Some(&key[..16]), pem.as_bytes()).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(ciphertext))
}

/// Checks that the text is a PEM private key (the content is never echoed in the message).
pub fn check_private_key(pem: &str) -> Result<(), String> {
    PKey::private_key_from_pem(pem.as_bytes())
        .map(|_| ())
        .map_err(|_| "failed to parse key: not a PEM private key".to_owned())
}

/// Checks that the text holds at least one PEM certificate.
pub fn check_certificate(pem: &str) -> Result<(), String> {
    match X509::stack_from_pem(pem.as_bytes()) {
        Ok(chain) if !chain.is_empty() => Ok(()),
        _ => Err("failed to parse cert: not a PEM certificate".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::rsa::Rsa;

    fn key_pem() -> String {
        let rsa = Rsa::generate(2048).unwrap();
        String::from_utf8(rsa.private_key_to_pem().unwrap()).unwrap()
    }

    fn ring(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|s| s.to_string()).collect()
    }

    /// The ciphertext is made with the openssl command line, as an operator would.
    fn encrypt_with_openssl_cli(pem: &str, entry: &str) -> Option<String> {
        use std::io::Write;
        let hex: String = entry.bytes().map(|b| format!("{b:02x}")).collect();
        let cipher = if entry.len() == 16 { "-aes-128-cbc" } else { "-aes-256-cbc" };
        let mut child = std::process::Command::new("openssl")
            .args(["enc", cipher, "-K", &hex, "-iv", &hex[..32], "-base64", "-A"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(pem.as_bytes()).ok()?;
        let out = child.wait_with_output().ok()?;
        Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
    }

    #[test]
    fn pem_passes_unchanged() {
        let pem = key_pem();
        assert_eq!(decrypt_private_key(&pem, &ring(&["qeddd145sfvddff3"])).unwrap(), pem);
    }

    #[test]
    fn aes128_second_entry_decrypts() {
        let pem = key_pem();
        let stored = encrypt_private_key(&pem, "edd1c9f0985e76a2").unwrap();
        let keyring = ring(&["qeddd145sfvddff3", "edd1c9f0985e76a2"]);
        assert_eq!(decrypt_private_key(&stored, &keyring).unwrap(), pem);
    }

    #[test]
    fn aes256_entry_uses_its_first_16_bytes_as_iv() {
        let pem = key_pem();
        let entry = "0123456789abcdef0123456789ABCDEF";
        match encrypt_with_openssl_cli(&pem, entry) {
            Some(stored) => {
                assert_eq!(decrypt_private_key(&stored, &ring(&[entry])).unwrap(), pem);
                assert_eq!(encrypt_private_key(&pem, entry).unwrap(), stored);
            }
            None => eprintln!("NOTICE: openssl CLI missing; CLI cross-check skipped"),
        }
    }

    #[test]
    fn openssl_cli_aes128_matches() {
        let pem = key_pem();
        if let Some(stored) = encrypt_with_openssl_cli(&pem, "qeddd145sfvddff3") {
            assert_eq!(encrypt_private_key(&pem, "qeddd145sfvddff3").unwrap(), stored);
            assert_eq!(decrypt_private_key(&stored, &ring(&["qeddd145sfvddff3"])).unwrap(), pem);
        } else {
            eprintln!("NOTICE: openssl CLI missing; CLI cross-check skipped");
        }
    }

    #[test]
    fn wrong_keyring_fails() {
        let stored = encrypt_private_key(&key_pem(), "edd1c9f0985e76a2").unwrap();
        let err = decrypt_private_key(&stored, &ring(&["qeddd145sfvddff3"])).unwrap_err();
        assert!(err.starts_with("decrypt ssl key failed"), "{err}");
    }

    #[test]
    fn not_base64_fails() {
        let err = decrypt_private_key("!!!", &ring(&["qeddd145sfvddff3"])).unwrap_err();
        assert_eq!(err, "base64 decode ssl key failed");
    }

    #[test]
    fn decrypts_to_a_non_key_fails() {
        let stored = encrypt_private_key("hello, not a key", "qeddd145sfvddff3").unwrap();
        let err = decrypt_private_key(&stored, &ring(&["qeddd145sfvddff3"])).unwrap_err();
        assert!(err.starts_with("decrypt ssl key failed"), "{err}");
    }

    #[test]
    fn references() {
        std::env::set_var("STRAIT_RENDER_TEST_REF", "value");
        assert_eq!(resolve_reference("$env://STRAIT_RENDER_TEST_REF").unwrap(), "value");
        assert!(resolve_reference("$env://STRAIT_RENDER_TEST_UNSET").is_err());
        let err = resolve_reference("$secret://vault/1/key").unwrap_err();
        assert!(err.contains("not supported"), "{err}");
        assert_eq!(resolve_reference("plain").unwrap(), "plain");
    }
}
