//! Authentication: API key, HTTP basic and JWT (HS256 or JWKS), configured by
//! environment variables as in @workertown/kv. A request passes if any configured
//! strategy accepts it. With none configured, data routes answer 401 unless the server
//! runs with `--no-auth` (which is refused on a non-loopback address). What a browser
//! sends on another site's behalf is refused where it would work (`browser`): without
//! authentication, and with basic credentials.

mod api_key;
mod basic;
mod browser;
mod jwks;
mod jwks_fetch;
mod jwt;
mod secret;

use axum::http::{HeaderMap, HeaderValue, header};
use serde::Serialize;

use self::api_key::ApiKey;
use self::basic::Basic;
use self::jwt::JwtVerifier;
use super::error::ServeError;
use super::settings::AuthSettings;

/// The configured strategies.
pub(crate) struct Authenticator {
    no_auth: bool,
    api_key: Option<ApiKey>,
    basic: Option<Basic>,
    jwt: Option<JwtVerifier>,
}

/// What `/v1/admin/info` says about authentication: which strategies, never a secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AuthInfo {
    /// `true` when the server runs with `--no-auth`.
    no_auth: bool,
    /// The strategies enabled: `api_key`, `basic`, `jwt_hs256`, `jwt_jwks`.
    strategies: Vec<&'static str>,
    /// Whether JWTs must carry the configured issuer.
    jwt_issuer_checked: bool,
    /// Whether JWTs must carry the configured audience.
    jwt_audience_checked: bool,
}

impl Authenticator {
    pub(crate) fn new(settings: &AuthSettings, no_auth: bool) -> Result<Self, ServeError> {
        Ok(Self {
            no_auth,
            api_key: settings
                .api_key
                .as_deref()
                .map(|key| ApiKey::new(key).ok_or(ServeError::EmptySecret("KV_API_KEY")))
                .transpose()?,
            basic: settings
                .basic
                .as_ref()
                .map(|basic| {
                    Basic::new(basic).ok_or(ServeError::EmptySecret("KV_USERNAME or KV_PASSWORD"))
                })
                .transpose()?,
            jwt: JwtVerifier::new(settings)?,
        })
    }

    pub(crate) fn info(&self) -> AuthInfo {
        let mut strategies = Vec::new();
        if self.api_key.is_some() {
            strategies.push("api_key");
        }
        if self.basic.is_some() {
            strategies.push("basic");
        }
        if let Some(jwt) = &self.jwt {
            if jwt.hs256() {
                strategies.push("jwt_hs256");
            }
            if jwt.jwks() {
                strategies.push("jwt_jwks");
            }
        }
        AuthInfo {
            no_auth: self.no_auth,
            strategies,
            jwt_issuer_checked: self.jwt.as_ref().is_some_and(JwtVerifier::checks_issuer),
            jwt_audience_checked: self.jwt.as_ref().is_some_and(JwtVerifier::checks_audience),
        }
    }

    fn configured(&self) -> bool {
        self.api_key.is_some() || self.basic.is_some() || self.jwt.is_some()
    }

    /// Accepts the request if a configured strategy accepts its credentials.
    pub(crate) async fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        if self.no_auth {
            let refusal =
                browser::cross_site(headers).or_else(|| browser::not_loopback_host(headers));
            return refusal.map_or(Ok(()), Err);
        }
        if !self.configured() {
            return Err(
                "no authentication is configured: set KV_API_KEY, KV_USERNAME and \
                KV_PASSWORD, KV_JWT_SECRET or KV_JWKS_URL (or run kv serve --no-auth on a \
                loopback address)"
                    .to_owned(),
            );
        }
        if let (Some(key), Some(given)) = (&self.api_key, headers.get("x-auth-key"))
            && key.matches(given.as_bytes())
        {
            return Ok(());
        }
        let Some(authorization) = headers.get(header::AUTHORIZATION) else {
            return Err(
                "missing credentials: send Authorization: Bearer <token> or Basic <credentials>"
                    .to_owned(),
            );
        };
        let authorization = std::str::from_utf8(authorization.as_bytes())
            .map_err(|_| "the Authorization header is not UTF-8".to_owned())?;
        let (scheme, credentials) = authorization
            .trim()
            .split_once(' ')
            .ok_or_else(|| "the Authorization header has no scheme".to_owned())?;
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            if self
                .api_key
                .as_ref()
                .is_some_and(|k| k.matches(credentials.as_bytes()))
            {
                return Ok(());
            }
            match &self.jwt {
                Some(jwt) if credentials.matches('.').count() == 2 => jwt.verify(credentials).await,
                _ if self.api_key.is_some() => Err("wrong API key".to_owned()),
                _ => {
                    Err("bearer tokens are not accepted by this server's configuration".to_owned())
                }
            }
        } else if scheme.eq_ignore_ascii_case("basic") {
            // Browsers attach basic credentials they hold to cross-site requests too.
            if let Some(why) = browser::cross_site(headers) {
                return Err(why);
            }
            match &self.basic {
                Some(basic) => basic.check(credentials).map_err(str::to_owned),
                None => Err(
                    "basic authentication is not configured (KV_USERNAME, KV_PASSWORD)".to_owned(),
                ),
            }
        } else {
            Err(format!("unsupported authorization scheme {scheme:?}"))
        }
    }

    /// The `WWW-Authenticate` header of a 401, naming the schemes configured.
    pub(crate) fn challenge(&self) -> HeaderValue {
        let value = match (&self.basic, self.api_key.is_some() || self.jwt.is_some()) {
            (Some(_), true) => "Bearer realm=\"kv\", Basic realm=\"kv\"",
            (Some(_), false) => "Basic realm=\"kv\"",
            (None, _) => "Bearer realm=\"kv\"",
        };
        HeaderValue::from_static(value)
    }
}
