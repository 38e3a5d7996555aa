//! The request pipeline: one registry seen through the client's
//! credentials. A request goes down it once (auth for its scope, then the
//! transport) and its response comes back up; a 401 from the registry's own
//! origin is answered once. The protocol modules (`v1`, `v2`) and whole
//! images (`image`) send every request through a [`Remote`].

#![forbid(unsafe_code)]

use ureq::http::Response;
use ureq::Body;

use crate::auth::{Auth, Scope};
use crate::challenge::challenges_of;
use crate::error::{Error, ErrorKind, Result};
use crate::transport::{final_url, Credential, Payload, Request, Transport};
use crate::url::origin_of;

/// One registry seen through the pipeline: requests to its base URL
/// (`scheme://host[:port]`) carry the client's credentials for their scope,
/// and a 401 from the registry's own origin is answered once.
pub(crate) struct Remote<'c> {
    pub transport: &'c Transport,
    pub auth: &'c Auth,
    /// `scheme://host[:port]`, without a trailing slash.
    pub base: String,
    /// Where blob uploads record their sessions to survive the process
    /// (see [`crate::resume`]); `None`: not recorded.
    pub upload_state: Option<&'c std::path::Path>,
}

impl Remote<'_> {
    /// `base` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `req` with the credentials for `scope`, answering one 401
    /// challenge of the registry's own origin. The response may have any
    /// status; see [`check`](Self::check). A streamed body cannot be sent
    /// twice, so it gets only the credentials known up front: callers make a
    /// bodiless request to the same scope first (as the upload POST is).
    pub fn send(
        &self,
        req: &Request<'_>,
        scope: &Scope,
        payload: &mut Payload<'_>,
    ) -> Result<Response<Body>> {
        let t = self.transport;
        let origin = origin_of(&self.base);
        let sent = self.auth.upfront(t, scope, &origin)?;
        let credential = |value| Credential {
            value,
            origin: &origin,
        };
        let resp = t.send(req, sent.as_deref().map(credential), payload)?;
        if resp.status().as_u16() != 401
            || !payload.replayable()
            || origin_of(final_url(&resp)) != origin
        {
            return Ok(resp);
        }
        let challenges = challenges_of(&resp);
        let Some(answer) = self
            .auth
            .respond(t, &challenges, scope, sent.as_deref(), &origin)?
        else {
            return Ok(resp);
        };
        let resp = t.send(req, Some(credential(&answer)), payload)?;
        if resp.status().as_u16() == 401
            && answer.starts_with("Bearer ")
            && matches!(req.method, "GET" | "HEAD")
            && self.auth.unauthorized_is_not_found
        {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "{}: not found (the registry answers 401 to a granted token for a \
                     repository that does not exist or that these credentials may not see)",
                    req.what()
                ),
            )
            .with_http_status(401));
        }
        Ok(resp)
    }

    /// Passes a 2xx response through; turns anything else into an error
    /// that names the request the response answers.
    pub fn check(&self, resp: Response<Body>) -> Result<Response<Body>> {
        if resp.status().is_success() {
            return Ok(resp);
        }
        let e = Error::from_response(resp);
        // An anonymous caller refused for lack of scope has no credentials, not wrong ones.
        if e.kind() == ErrorKind::Forbidden
            && e.http_status() == Some(401)
            && self.auth.is_anonymous()
        {
            return Err(e.with_kind(ErrorKind::Unauthorized));
        }
        Err(e)
    }

    /// Sends `req` (a GET or HEAD) with no body, as [`send`](Self::send)
    /// does, and passes only a 2xx response (see [`check`](Self::check)).
    pub fn send_checked(&self, req: &Request<'_>, scope: &Scope) -> Result<Response<Body>> {
        let resp = self.send(req, scope, &mut Payload::Empty)?;
        self.check(resp)
    }
}
