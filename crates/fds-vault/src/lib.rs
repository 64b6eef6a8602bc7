//! The PII vault: field-level encryption of subscriber numbers, identity ids, IMEIs,
//! card and account numbers, callees and ICCIDs with AES-256-GCM (a random nonce per
//! value, the key id stored with the value so keys can rotate, the field kind bound as
//! associated data), and a keyed blind index (HMAC-SHA256 under a separate key) so a
//! store can find a value by equality without decrypting anything.
//!
//! Owns: [`KeyRing`] (validated key material from configuration), [`Vault`]
//! (encrypt / decrypt / rotate / blind index), [`Sealed`] (the stored text form
//! `v1.<key id>.<nonce>.<ciphertext>`) and the [`Field`] kinds.
//!
//! Must never: do I/O, read the environment, a clock or the database for keys (callers
//! pass key material in), log anything, or put key material or plaintext into an
//! error or a `Debug` form.
//!
//! ```
//! use fds_vault::{Field, KeyRing, Sealed, Vault};
//!
//! let vault = Vault::new(KeyRing::generate_local());
//! let sealed = vault.encrypt(Field::Subscriber, "01012345678");
//! let stored = sealed.to_string(); // "v1.local.<nonce>.<ciphertext>"
//! let read = Sealed::parse(&stored).expect("own text form parses");
//! assert_eq!(vault.decrypt(Field::Subscriber, &read).expect("intact"), "01012345678");
//! assert_eq!(
//!     vault.blind_index(Field::Subscriber, "010-1234-5678"),
//!     vault.blind_index(Field::Subscriber, "01012345678"),
//! );
//! ```

mod field;
mod keys;
mod sealed;
mod vault;

pub use field::{Field, UnknownField};
pub use keys::{KeyId, KeyRing, KeyRingError};
pub use sealed::Sealed;
pub use vault::{Vault, VaultError};
