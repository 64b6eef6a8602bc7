//! Passwords: argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane — the
//! OWASP minimum), kept as PHC strings that carry their own salt and parameters,
//! so stronger parameters later still verify old hashes.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted: hashing is costly, and no one types more.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Why a password cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("a password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")]
    Length,
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// The argon2id PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(PasswordError::Length);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `stored` (false for a malformed one).
pub(crate) fn verify_password(password: &str, stored: &str) -> bool {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// Characters of a generated password: letters and digits without look-alikes.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
/// Length of a generated password (about 140 bits).
const GENERATED_CHARS: usize = 24;

/// A random password (24 letters and digits, about 140 bits) for a new account or
/// a reset, to be shown once.
pub fn generate_password() -> String {
    use argon2::password_hash::rand_core::RngCore;
    let mut out = String::with_capacity(GENERATED_CHARS);
    while out.len() < GENERATED_CHARS {
        let byte = (OsRng.next_u32() & 0xff) as usize;
        // Rejection sampling keeps every character equally likely.
        if byte < ALPHABET.len() * (256 / ALPHABET.len()) {
            out.push(ALPHABET[byte % ALPHABET.len()] as char);
        }
    }
    out
}

/// A hash to verify against when the login names no account, so an unknown login
/// costs as much time as a wrong password.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-password-anyone-has").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_salted_and_verifies_only_its_password() {
        let one = hash_password("correct horse battery").unwrap();
        let two = hash_password("correct horse battery").unwrap();
        assert!(one.starts_with("$argon2id$v=19$"), "{one}");
        assert_ne!(one, two, "a fresh salt each time");
        assert!(verify_password("correct horse battery", &one));
        assert!(!verify_password("correct horse batterY", &one));
        assert!(!verify_password("correct horse battery", "not a phc string"));
    }

    #[test]
    fn generated_passwords_are_long_enough_and_differ() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.chars().count(), GENERATED_CHARS);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a, b);
        assert!(hash_password(&a).is_ok());
    }

    #[test]
    fn too_short_or_too_long_passwords_are_refused() {
        assert_eq!(hash_password("short"), Err(PasswordError::Length));
        assert_eq!(hash_password(&"x".repeat(257)), Err(PasswordError::Length));
    }
}
