//! Identity verification (Chatwoot's identifier_hash): the business's backend
//! vouches for an externalId with HMAC-SHA256(secret, externalId).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::AppError;

/// The server's identity secret. Its Debug output never shows the secret.
#[derive(Clone)]
pub struct IdentitySecret(String);

impl IdentitySecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    fn mac(&self, external_id: &str) -> Result<Hmac<Sha256>, AppError> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_bytes())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("HMAC key: {e}")))?;
        mac.update(external_id.as_bytes());
        Ok(mac)
    }

    /// Lower-case hex HMAC-SHA256(secret, externalId): what clients send.
    pub fn hash(&self, external_id: &str) -> Result<String, AppError> {
        Ok(hex::encode(self.mac(external_id)?.finalize().into_bytes()))
    }

    /// Checks `hash` for `external_id` in constant time; a missing or wrong
    /// hash is UNAUTHENTICATED.
    pub fn verify(&self, external_id: &str, hash: Option<&str>) -> Result<(), AppError> {
        let Some(hash) = hash.map(str::trim).filter(|h| !h.is_empty()) else {
            return Err(AppError::Unauthenticated(
                "input.identifierHash: required with externalId (HMAC-SHA256 of externalId, lower-case hex)".into(),
            ));
        };
        let wrong =
            || AppError::Unauthenticated("input.identifierHash: does not match externalId".into());
        let tag = hex::decode(hash).map_err(|_| wrong())?;
        self.mac(external_id)?
            .verify_slice(&tag)
            .map_err(|_| wrong())
    }
}

impl std::fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentitySecret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        let secret = IdentitySecret::new("Jefe");
        assert_eq!(
            secret.hash("what do ya want for nothing?").unwrap(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verify_accepts_only_the_right_hash() {
        let secret = IdentitySecret::new("s3cret");
        let good = secret.hash("user-1").unwrap();
        assert!(secret.verify("user-1", Some(&good)).is_ok());
        for bad in [None, Some(""), Some("zz"), Some(good.as_str())] {
            let external_id = if bad == Some(good.as_str()) {
                "user-2"
            } else {
                "user-1"
            };
            let err = secret.verify(external_id, bad).unwrap_err();
            assert_eq!(err.code(), "UNAUTHENTICATED");
        }
        assert_eq!(format!("{secret:?}"), "IdentitySecret(***)");
    }
}
