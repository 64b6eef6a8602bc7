//! TOTP (RFC 6238) over HMAC-SHA1 (RFC 4226), six digits, 30-second steps — what
//! authenticator apps expect from an `otpauth://totp/` URI — and the base32
//! (RFC 4648, no padding) form secrets are shown and stored in.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per time step.
pub(crate) const STEP_SECONDS: i64 = 30;
/// Digits per code.
const DIGITS: u32 = 6;
/// Steps either side of now a code may come from: clocks of phones drift.
const WINDOW: i64 = 1;
/// Bytes of a new secret: 160 bits, the HMAC-SHA1 block the RFC recommends.
pub(crate) const SECRET_BYTES: usize = 20;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `bytes` in base32, without padding.
pub(crate) fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u64 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u64::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The bytes of a base32 text (case, spaces and padding ignored); `None` when it is
/// not base32.
pub(crate) fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u64 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !matches!(c, ' ' | '=')) {
        let c = c.to_ascii_uppercase() as u8;
        let value = ALPHABET.iter().position(|&a| a == c)? as u64;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// The HOTP value of `secret` at `counter` (RFC 4226 section 5.3), `digits` long.
fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC accepts a key of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let code = (u32::from(hash[offset]) & 0x7f) << 24
        | u32::from(hash[offset + 1]) << 16
        | u32::from(hash[offset + 2]) << 8
        | u32::from(hash[offset + 3]);
    code % 10u32.pow(digits)
}

/// The time step of `unix_seconds`.
pub(crate) fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code of `secret` for time step `step`, zero-padded.
pub(crate) fn code_at(secret: &[u8], step: i64) -> String {
    format!("{:0width$}", hotp(secret, step.max(0) as u64, DIGITS), width = DIGITS as usize)
}

/// The time step whose code `code` is, within the window around `unix_seconds`;
/// `None` when it matches none. The caller then makes sure a step is used once.
pub(crate) fn verify(secret: &[u8], code: &str, unix_seconds: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(unix_seconds);
    (now - WINDOW..=now + WINDOW)
        .find(|&step| constant_time_eq(code_at(secret, step).as_bytes(), code.as_bytes()))
}

/// The `otpauth://` URI an authenticator app enrols from.
pub(crate) fn otpauth_uri(issuer: &str, login: &str, secret_base32: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_base32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(login),
        enc(issuer)
    )
}

/// Equality that takes as long whatever the bytes (length aside).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SHA-1 seed of RFC 6238 appendix B.
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn the_rfc_6238_sha1_test_vectors_give_their_eight_digit_codes() {
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, expected) in vectors {
            let code = format!("{:08}", hotp(RFC_SEED, step_of(time) as u64, 8));
            assert_eq!(code, expected, "T = {time}");
        }
    }

    #[test]
    fn the_rfc_4226_hotp_test_vectors_give_their_six_digit_codes() {
        let expected = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(hotp(RFC_SEED, counter as u64, 6), code, "counter {counter}");
        }
    }

    #[test]
    fn a_code_verifies_within_one_step_either_side_and_not_beyond() {
        let now = 1_234_567_890;
        let step = step_of(now);
        assert_eq!(verify(RFC_SEED, &code_at(RFC_SEED, step), now), Some(step));
        assert_eq!(verify(RFC_SEED, &code_at(RFC_SEED, step - 1), now), Some(step - 1));
        assert_eq!(verify(RFC_SEED, &code_at(RFC_SEED, step + 1), now), Some(step + 1));
        assert_eq!(verify(RFC_SEED, &code_at(RFC_SEED, step - 2), now), None);
        assert_eq!(verify(RFC_SEED, "12345", now), None);
        assert_eq!(verify(RFC_SEED, "abcdef", now), None);
    }

    #[test]
    fn base32_follows_rfc_4648_and_round_trips() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_decode("mzxw6ytboi======"), Some(b"foobar".to_vec()));
        assert_eq!(base32_decode("MZ1"), None);
        let secret: Vec<u8> = (0..20).collect();
        assert_eq!(base32_decode(&base32_encode(&secret)), Some(secret));
    }

    #[test]
    fn the_otpauth_uri_names_the_issuer_and_login_escaped() {
        let uri = otpauth_uri("FDS", "kim lee", "JBSWY3DP");
        assert_eq!(
            uri,
            "otpauth://totp/FDS:kim%20lee?secret=JBSWY3DP&issuer=FDS&algorithm=SHA1&digits=6&period=30"
        );
    }
}
