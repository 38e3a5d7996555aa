//! v1 repositories as a whole: the image list the index keeps for each
//! (moby's `GetRepositoryData` and `PushImageJSONIndex`), and deleting one.

#![forbid(unsafe_code)]

use super::index::{self, Session, Target};
use super::repo_name;
use crate::error::{what_of, Error, Result};
use crate::reference::validate_image_id;
use crate::remote::Remote;
use crate::transport::{self, ListBudget, Payload, Request};
use crate::types::{Access, V1ImageEntry};

/// The longest checksum accepted in an image list (`tarsum.dev+sha256:<64 hex>`
/// is 82 characters).
const MAX_CHECKSUM_LEN: usize = 256;

/// `GET /v1/repositories/<repo>/images` at the index (or a standalone
/// registry), with `X-Docker-Token: true`: the repository's images with
/// their checksums. The read token the index hands out with it becomes the
/// session's. Bounded like every listing ([`ListBudget`]: 4 MiB, 250,000
/// entries); an id that is not 64 hex digits is PROTOCOL.
pub(crate) fn repository_images(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
) -> Result<Vec<V1ImageEntry>> {
    let repo = repo_name(repo)?;
    let (_, resp) = index::index_request(remote, session, &repo, Access::Read, b"")?;
    let what = what_of(&resp).to_string();
    let mut budget = ListBudget::new();
    let body = budget.read_page(resp)?;
    let mut list: Vec<V1ImageEntry> = transport::decode_json(&body, &what)?;
    budget.count(list.len())?;
    for e in &mut list {
        validate_image_id(&e.id).map_err(|_| {
            Error::protocol(format!(
                "{what}: the index listed {:?}, not an image id",
                e.id.chars().take(100).collect::<String>()
            ))
        })?;
        if e.checksum.as_deref() == Some("") {
            e.checksum = None;
        }
    }
    Ok(list)
}

/// Checks an image list the caller gives: ids, and checksums of the form
/// `<algorithm>:<value>` in printable ASCII.
fn check_entries(images: &[V1ImageEntry]) -> Result<()> {
    for e in images {
        validate_image_id(&e.id)?;
        if let Some(c) = &e.checksum {
            let ok = c.len() <= MAX_CHECKSUM_LEN
                && c.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
                && c.split_once(':')
                    .is_some_and(|(a, v)| !a.is_empty() && !v.is_empty());
            if !ok {
                return Err(Error::invalid(format!(
                    "image {}: {:?} is not a checksum such as \"sha256:<hex>\"",
                    e.id,
                    c.chars().take(100).collect::<String>()
                )));
            }
        }
    }
    Ok(())
}

fn to_json(images: &[&V1ImageEntry]) -> Result<Vec<u8>> {
    serde_json::to_vec(images).map_err(|e| Error::invalid(e.to_string()))
}

/// `PUT /v1/repositories/<repo>/` at the index with the image list (ids,
/// checksums optional): the push's first step, which creates the
/// repository and hands out the write token (kept as the session's).
pub(crate) fn repository_put(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    images: &[V1ImageEntry],
) -> Result<()> {
    let repo = repo_name(repo)?;
    check_entries(images)?;
    let body = to_json(&images.iter().collect::<Vec<_>>())?;
    let (_, resp) = index::index_request(remote, session, &repo, Access::Write, &body)?;
    let _ = transport::read_capped(resp, 64 * 1024);
    Ok(())
}

/// `PUT /v1/repositories/<repo>/images` at the index: the push's last step
/// (moby's `PushImageJSONIndex` with validate), which tells the index the
/// checksums of the images pushed. As moby, only entries with a checksum
/// are sent; `X-Docker-Endpoints` names the registry the session's write
/// token for `repo` is for, when it holds one. Any 2xx answer (the Hub's is
/// 204) is success.
pub(crate) fn repository_images_put(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    images: &[V1ImageEntry],
) -> Result<()> {
    let repo = repo_name(repo)?;
    check_entries(images)?;
    let with_sums: Vec<&V1ImageEntry> = images.iter().filter(|e| e.checksum.is_some()).collect();
    let body = to_json(&with_sums)?;
    let url = remote.url(&format!("/v1/repositories/{repo}/images"));
    let mut req = Request::new("PUT", url.clone())
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("X-Docker-Token", "true");
    let endpoint = session.endpoint_host(&repo, Access::Write);
    if let Some(host) = &endpoint {
        req = req.header("X-Docker-Endpoints", host);
    }
    let basic = remote.auth.basic_for(&url);
    let resp = index::exchange(
        remote,
        session,
        req,
        basic.as_deref(),
        &mut Payload::Bytes(&body),
    )?;
    let resp = remote.check(resp)?;
    let _ = transport::read_capped(resp, 64 * 1024);
    Ok(())
}

/// `DELETE /v1/repositories/<repo>/` at the registry, with the delete
/// token the index hands out for it (`DELETE …/` at the index, as
/// docker-reg-client's `Repository.Delete` after `GetDeleteToken`), or basic
/// credentials on a standalone registry: every tag of the repository goes.
pub(crate) fn repository_delete(remote: &Remote<'_>, session: &Session, repo: &str) -> Result<()> {
    let repo = repo_name(repo)?;
    let path = format!("/v1/repositories/{repo}/");
    let target = Target::Repo(&repo, Access::Delete);
    let resp = index::send(
        remote,
        session,
        "DELETE",
        &path,
        target,
        &[],
        &mut Payload::Empty,
    )?;
    let resp = remote.check(resp)?;
    let _ = transport::read_capped(resp, 64 * 1024);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn entries_are_checked() {
        let ok = [
            V1ImageEntry::new(ID, None),
            V1ImageEntry::new(ID, Some("sha256:00".into())),
            V1ImageEntry::new(ID, Some("tarsum+sha256:00".into())),
        ];
        assert!(check_entries(&ok).is_ok());
        for bad in ["", "sha256", ":00", "sha256:", "sha256:a\"b", "sha 256:00"] {
            let e = check_entries(&[V1ImageEntry::new(ID, Some(bad.into()))]).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad:?}");
        }
        let e = check_entries(&[V1ImageEntry::new("abc/../x", None)]).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
    }

    #[test]
    fn lists_serialise_without_missing_checksums() {
        let a = V1ImageEntry::new(ID, None);
        let b = V1ImageEntry::new(ID, Some("sha256:00".into()));
        let json = String::from_utf8(to_json(&[&a, &b]).unwrap()).unwrap();
        assert_eq!(
            json,
            format!(r#"[{{"id":"{ID}"}},{{"id":"{ID}","checksum":"sha256:00"}}]"#)
        );
    }
}
