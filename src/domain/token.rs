//! API tokens: `cat_<id>_<secret>`. The id finds the row; only a SHA-256 of
//! the secret is stored, and it is compared in constant time. The secret has
//! 256 random bits, so a fast hash is enough: there is nothing to brute-force.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

const PREFIX: &str = "cat_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// Queries and subscriptions.
    Read,
    /// Queries, subscriptions and mutations.
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            _ => None,
        }
    }

    pub fn allows(self, needed: Scope) -> bool {
        self == Scope::Write || needed == Scope::Read
    }
}

/// A newly made token: what the user gets once, and what is stored.
pub struct NewToken {
    pub id: Uuid,
    pub token: String,
    pub secret_hash: String,
}

pub fn generate() -> Result<NewToken, getrandom::Error> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    let secret = URL_SAFE_NO_PAD.encode(secret);
    let id = Uuid::now_v7();
    Ok(NewToken {
        id,
        token: format!("{PREFIX}{}_{secret}", id.simple()),
        secret_hash: hash_secret(&secret),
    })
}

/// Splits a presented token into its id and secret; None if it is not one of ours.
pub fn parse(token: &str) -> Option<(Uuid, &str)> {
    let (id, secret) = token.strip_prefix(PREFIX)?.split_once('_')?;
    if secret.is_empty() {
        return None;
    }
    Some((Uuid::try_parse(id).ok()?, secret))
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored`, in time independent of where they differ.
pub fn verify(secret: &str, stored: &str) -> bool {
    hash_secret(secret)
        .as_bytes()
        .ct_eq(stored.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_parses_and_verifies() {
        let new = generate().unwrap();
        let (id, secret) = parse(&new.token).unwrap();
        assert_eq!(id, new.id);
        assert!(verify(secret, &new.secret_hash));
        assert!(!verify("x", &new.secret_hash));
        assert_ne!(generate().unwrap().token, new.token);
    }

    #[test]
    fn foreign_strings_are_not_tokens() {
        assert!(parse("abc").is_none());
        assert!(parse("cat_nothex_secret").is_none());
        assert!(parse(&format!("cat_{}_", Uuid::now_v7().simple())).is_none());
    }

    #[test]
    fn write_covers_read_but_not_the_reverse() {
        assert!(Scope::Write.allows(Scope::Read));
        assert!(Scope::Write.allows(Scope::Write));
        assert!(Scope::Read.allows(Scope::Read));
        assert!(!Scope::Read.allows(Scope::Write));
    }
}
