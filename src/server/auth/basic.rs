//! `KV_USERNAME` / `KV_PASSWORD`: HTTP basic (RFC 7617). The user-pass is split at the
//! first `:`, so the password may contain `:`.

use base64::Engine as _;

use super::secret::Secret;
use crate::server::settings::BasicCredentials;

/// The configured credentials; both halves compared in constant time, their lengths
/// included.
pub(crate) struct Basic {
    username: Secret,
    password: Secret,
}

impl Basic {
    /// `None` if the user name or the password is empty.
    pub(crate) fn new(credentials: &BasicCredentials) -> Option<Self> {
        Some(Self {
            username: Secret::new(credentials.username.as_bytes())?,
            password: Secret::new(credentials.password.as_bytes())?,
        })
    }

    /// Checks the base64 token of `Authorization: Basic <token>`.
    pub(crate) fn check(&self, token: &str) -> Result<(), &'static str> {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| "basic credentials are not valid base64")?;
        let colon = decoded
            .iter()
            .position(|&b| b == b':')
            .ok_or("basic credentials have no ':' between user name and password")?;
        let (user, pass) = (&decoded[..colon], &decoded[colon + 1..]);
        // Compare both, always, and combine without branching.
        let ok = self.username.matches(user) & self.password.matches(pass);
        if bool::from(ok) {
            Ok(())
        } else {
            Err("wrong user name or password")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn password_may_contain_colons() {
        let basic = Basic::new(&BasicCredentials {
            username: "admin".into(),
            password: "a:b:c".into(),
        })
        .unwrap();
        assert!(basic.check(&token("admin:a:b:c")).is_ok());
        assert!(basic.check(&token("admin:a:b")).is_err());
        assert!(basic.check(&token("admin:a")).is_err());
        assert!(basic.check(&token("admin")).is_err());
        assert!(basic.check("!!!").is_err());
    }
}
