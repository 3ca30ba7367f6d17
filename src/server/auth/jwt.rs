//! JWT bearer tokens: HS256 with `KV_JWT_SECRET`, RS256/ES256 with keys from
//! `KV_JWKS_URL`; `exp` required, `nbf` enforced (both with [`LEEWAY_SECS`] of clock
//! skew), `iss`/`aud` required and checked when configured, and a token that names an
//! audience refused when none is configured.
//! Verification is jsonwebtoken's; `alg: none` and algorithm confusion are refused
//! because each key verifies exactly one algorithm.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::jwks::{Jwks, VerifyingKey};
use crate::server::error::ServeError;
use crate::server::settings::AuthSettings;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Shorter HS256 secrets are warned about at startup (RFC 7518 §3.2: at least the
/// hash's size).
const MIN_HS256_SECRET_BYTES: usize = 32;

pub(crate) struct JwtVerifier {
    secret: Option<DecodingKey>,
    jwks: Option<Jwks>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl JwtVerifier {
    /// A verifier if `KV_JWT_SECRET` or `KV_JWKS_URL` is set.
    pub(crate) fn new(settings: &AuthSettings) -> Result<Option<Self>, ServeError> {
        if settings.jwt_secret.is_none() && settings.jwks_url.is_none() {
            return Ok(None);
        }
        if settings.jwt_secret.as_deref() == Some("") {
            // Anyone could sign tokens with an empty secret.
            return Err(ServeError::EmptySecret("KV_JWT_SECRET"));
        }
        if let Some(secret) = &settings.jwt_secret
            && secret.len() < MIN_HS256_SECRET_BYTES
        {
            tracing::warn!(
                bytes = secret.len(),
                "KV_JWT_SECRET is shorter than {MIN_HS256_SECRET_BYTES} bytes: anyone holding \
                 one token can guess it offline and sign their own (RFC 7518 §3.2 asks for 32 \
                 random bytes or more)"
            );
        }
        if settings.jwks_url.is_some() && settings.jwt_issuer.is_none() {
            tracing::warn!(
                "KV_JWKS_URL without KV_JWT_ISSUER: every token signed by a key of that set is \
                 accepted, whoever it was issued for (set KV_JWT_ISSUER, and KV_JWT_AUDIENCE)"
            );
        }
        let jwks = settings
            .jwks_url
            .as_deref()
            .map(|url| Jwks::new(url, settings.jwks_refresh_interval))
            .transpose()?;
        Ok(Some(Self {
            secret: settings
                .jwt_secret
                .as_deref()
                .map(|s| DecodingKey::from_secret(s.as_bytes())),
            jwks,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
        }))
    }

    pub(crate) fn hs256(&self) -> bool {
        self.secret.is_some()
    }

    pub(crate) fn jwks(&self) -> bool {
        self.jwks.is_some()
    }

    pub(crate) fn checks_issuer(&self) -> bool {
        self.issuer.is_some()
    }

    pub(crate) fn checks_audience(&self) -> bool {
        self.audience.is_some()
    }

    /// Verifies a token; the error says why it was refused.
    pub(crate) async fn verify(&self, token: &str) -> Result<(), String> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| format!("JWT refused: malformed header or unsupported alg ({e})"))?;
        let verifying = match header.alg {
            Algorithm::HS256 => match &self.secret {
                Some(key) => VerifyingKey {
                    key: key.clone(),
                    algorithm: Algorithm::HS256,
                },
                None => {
                    return Err(
                        "JWT refused: HS256 tokens are not accepted (no KV_JWT_SECRET)".into(),
                    );
                }
            },
            Algorithm::RS256 | Algorithm::ES256 => match &self.jwks {
                Some(jwks) => jwks
                    .key(header.kid.as_deref())
                    .await
                    .map_err(|e| format!("JWT refused: {e}"))?,
                None => {
                    return Err(format!(
                        "JWT refused: {:?} tokens are not accepted (no KV_JWKS_URL)",
                        header.alg
                    ));
                }
            },
            other => return Err(format!("JWT refused: algorithm {other:?} is not accepted")),
        };
        if verifying.algorithm != header.alg {
            return Err(format!(
                "JWT refused: the key {:?} names is for {:?}, not {:?}",
                header.kid, verifying.algorithm, header.alg
            ));
        }
        let mut validation = Validation::new(verifying.algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        // Every claim a setting names is required: jsonwebtoken checks `iss` and `aud`
        // only when the token has them, so a token without them would pass.
        let mut required = vec!["exp"];
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        // With no audience configured, a token that names one is refused (RFC 7519
        // §4.1.3: it was issued for someone else), which is jsonwebtoken's default.
        if let Some(audience) = &self.audience {
            validation.set_audience(&[audience]);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &verifying.key, &validation)
            .map_err(|e| {
                let why = match e.kind() {
                    ErrorKind::ExpiredSignature => "expired (exp is in the past)".to_owned(),
                    ErrorKind::ImmatureSignature => {
                        "not valid yet (nbf is in the future)".to_owned()
                    }
                    ErrorKind::InvalidIssuer => "wrong issuer (iss)".to_owned(),
                    ErrorKind::InvalidAudience if self.audience.is_none() => {
                        "the token names an audience (aud) and this server has none \
                         configured (set KV_JWT_AUDIENCE to accept it)"
                            .to_owned()
                    }
                    ErrorKind::InvalidAudience => "wrong audience (aud)".to_owned(),
                    ErrorKind::InvalidSignature => "bad signature".to_owned(),
                    ErrorKind::MissingRequiredClaim(claim) => format!("missing claim {claim:?}"),
                    ErrorKind::InvalidClaimFormat(claim) => {
                        format!("claim {claim:?} is not a number of seconds")
                    }
                    other => format!("{other:?}"),
                };
                format!("JWT refused: {why}")
            })?;
        // jsonwebtoken also accepts an array `iss` that contains the issuer; RFC 7519
        // §4.1.1 makes `iss` one string, and the configured issuer is that string.
        if let Some(issuer) = &self.issuer
            && claims.claims.get("iss").and_then(serde_json::Value::as_str) != Some(issuer)
        {
            return Err("JWT refused: wrong issuer (iss must be one string)".to_owned());
        }
        Ok(())
    }
}
