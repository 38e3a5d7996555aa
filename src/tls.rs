//! TLS for every connection a client makes: ureq's connector chain (CONNECT
//! proxy, then TCP) ending in our own rustls step instead of ureq's, for two
//! reasons.
//!
//! **Trust.** A certificate the user trusted explicitly (the CA file,
//! `ca_pem`, or certs.d `*.crt`) is accepted as the server certificate when
//! the server presents exactly those bytes, with the host name still checked
//! against its subjectAltName and its validity period against the clock.
//! Docker's documentation makes registry certificates with `openssl req -x509`:
//! such a certificate is its own CA (`CA:TRUE`), which webpki refuses as a
//! server certificate (`CaUsedAsEndEntity`) while docker, skopeo and curl take
//! it. Every other certificate gets rustls's full webpki verification, against
//! the certificates the user trusted, or the built-in web PKI roots when there
//! are none. Handshake signatures are always checked with the key of the
//! certificate the server presented.
//!
//! **Plain HTTP.** The connector sees what the server sent during the
//! handshake. When those first bytes are an HTTP response (a plain HTTP server
//! answering the ClientHello with `HTTP/1.1 400 …`, or with a bare HTML page
//! when it took it for an HTTP/0.9 request), not a TLS record, the failure is a TLS error
//! marked with [`Error::is_plain_http_answer`]: the only failure after which
//! `Client::base` tries the registry again over plain HTTP. A reset, a closed
//! connection or a certificate problem is never a reason to drop TLS.

#![forbid(unsafe_code)]

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
    SignatureScheme, StreamOwned,
};
use ureq::config::Config;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    Transport, TransportAdapter,
};
use ureq::{Agent, ProxyProtocol};

use crate::error::{Error, ErrorKind, Result};

/// How many of the first bytes a server sends during the handshake are kept,
/// to tell an HTTP answer apart and quote its status line.
const FIRST_BYTES: usize = 64;

/// What a client trusts and presents.
pub(crate) struct TlsSettings<'a> {
    /// PEM certificates the user trusted explicitly (CA file, `ca_pem`,
    /// certs.d `*.crt`). `None`: the built-in web PKI roots.
    pub ca_pem: Option<&'a [u8]>,
    /// A client certificate chain and its key (PEM), for mutual TLS.
    pub client_cert: Option<(&'a [u8], &'a [u8])>,
}

/// An agent for `config` whose https connections use `tls`. Fails with
/// INVALID_ARGUMENT on certificates or a key that do not parse, and on a SOCKS
/// proxy (ureq is built without SOCKS; a request must never bypass a proxy).
pub(crate) fn agent(config: Config, tls: &TlsSettings<'_>) -> Result<Agent> {
    if let Some(proxy) = config.proxy() {
        if !matches!(proxy.protocol(), ProxyProtocol::Http | ProxyProtocol::Https) {
            return Err(Error::invalid(
                "SOCKS proxies are not supported; name an http:// proxy",
            ));
        }
    }
    let tls = TlsConnector {
        config: Arc::new(client_config(tls)?),
    };
    let chain =
        ().chain(ConnectProxyConnector::default())
            .chain(crate::cancel::StopConnector)
            .chain(tls);
    Ok(Agent::with_parts(config, chain, DefaultResolver::default()))
}

/// The rustls configuration: our verifier, TLS 1.2 and 1.3, and the client
/// certificate if there is one.
fn client_config(tls: &TlsSettings<'_>) -> Result<ClientConfig> {
    // As ureq does: the process-wide provider if the program installed one, else ring.
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let verifier = Verifier::new(tls.ca_pem, provider.clone())?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let Some((chain, key)) = tls.client_cert else {
        return Ok(builder.with_no_client_auth());
    };
    let key = PrivateKeyDer::from_pem_slice(key)
        .map_err(|e| Error::invalid(format!("client key is not a PEM private key: {e}")))?;
    let chain = parse_certificates(chain, "the client certificate")?;
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|e| Error::invalid(format!("the client certificate and key: {e}")))
}

/// Every certificate in a PEM bundle; at least one.
fn parse_certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(format!("{what}: not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid(format!("{what}: no PEM certificate")));
    }
    Ok(certs)
}

/// rustls's webpki verifier, plus: a server certificate byte-identical to one
/// the user trusted explicitly is accepted for the names it carries while it
/// is valid.
#[derive(Debug)]
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    /// The certificates the user trusted explicitly (DER); empty with the
    /// built-in roots.
    trusted: Vec<CertificateDer<'static>>,
}

impl Verifier {
    fn new(ca_pem: Option<&[u8]>, provider: Arc<CryptoProvider>) -> Result<Verifier> {
        let (roots, trusted) = match ca_pem {
            Some(pem) => {
                let certs = parse_certificates(pem, "the CA certificates")?;
                let mut roots = RootCertStore::empty();
                roots.add_parsable_certificates(certs.iter().cloned());
                (roots, certs)
            }
            None => (
                RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                },
                Vec::new(),
            ),
        };
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| {
                Error::invalid(format!("the CA certificates: no usable certificate ({e})"))
            })?;
        Ok(Verifier { webpki, trusted })
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let verdict = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let trusted_exactly = self
            .trusted
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref());
        match verdict {
            Err(_) if trusted_exactly => verify_trusted_exactly(end_entity, server_name, now),
            verdict => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.webpki.root_hint_subjects()
    }
}

/// The checks a certificate the user trusted byte for byte still has to pass:
/// its subjectAltName names the host (DNS name or IP address) the client
/// connects to, and `now` lies within its validity period.
fn verify_trusted_exactly(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> std::result::Result<ServerCertVerified, rustls::Error> {
    let parsed = ParsedCertificate::try_from(cert)?;
    rustls::client::verify_server_name(&parsed, server_name)?;
    let bad = rustls::Error::InvalidCertificate;
    let validity = validity(cert.as_ref()).ok_or(bad(CertificateError::BadEncoding))?;
    let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let unix = |t: i64| UnixTime::since_unix_epoch(Duration::from_secs(t.max(0).unsigned_abs()));
    if secs < validity.not_before {
        return Err(bad(CertificateError::NotValidYetContext {
            time: now,
            not_before: unix(validity.not_before),
        }));
    }
    if secs > validity.not_after {
        return Err(bad(CertificateError::ExpiredContext {
            time: now,
            not_after: unix(validity.not_after),
        }));
    }
    Ok(ServerCertVerified::assertion())
}

/// Wraps https connections in TLS with one rustls configuration; passes
/// plain http connections (and ones that are TLS already) through.
struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> std::result::Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details.uri.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| ureq::Error::Tls("the host is not a valid DNS name or IP address"))?;
        let mut conn = ClientConnection::new(self.config.clone(), name)?;
        let mut adapter = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        adapter.set_timeout(details.timeout);
        let mut sock = Recording {
            inner: adapter,
            first: Vec::new(),
        };
        if let Err(e) = conn.complete_io(&mut sock) {
            return Err(handshake_error(e, &sock.first, host));
        }
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned::new(conn, sock.inner),
        })))
    }
}

/// A failed handshake as ureq reports it, unless the server answered in
/// plain HTTP: then a TLS [`Error`] that says so and is marked as such.
fn handshake_error(e: io::Error, first: &[u8], host: &str) -> ureq::Error {
    // A TLS record starts with its content type, 20 to 23 (as Go's crypto/tls
    // tells "first record does not look like a TLS handshake"); an HTTP
    // server's answer (a status line, or a bare HTML page from one that took
    // the ClientHello for an HTTP/0.9 request) starts with text.
    let is_text = first.len() >= 4
        && first[..4]
            .iter()
            .all(|b| b.is_ascii_graphic() || *b == b' ');
    if !is_text {
        return e.into();
    }
    let line = first.split(|&b| b == b'\r' || b == b'\n').next();
    let line = String::from_utf8_lossy(line.unwrap_or_default());
    let err = Error::new(
        ErrorKind::Tls,
        format!("{host} answered the TLS handshake in plain HTTP ({line})"),
    )
    .with_plain_http_answer();
    ureq::Error::Io(io::Error::other(err))
}

/// The connection during the handshake, keeping the first bytes the server
/// sends.
struct Recording<S> {
    inner: S,
    first: Vec<u8>,
}

impl<S: Read> Read for Recording<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let keep = FIRST_BYTES.saturating_sub(self.first.len()).min(n);
        self.first
            .extend_from_slice(buf.get(..keep).unwrap_or_default());
        Ok(n)
    }
}

impl<S: Write> Write for Recording<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// An established TLS connection, as a ureq transport.
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        self.stream.sock.set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        self.stream.sock.set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let n = self.stream.read(input)?;
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.sock.get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// A certificate's validity period, in seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Validity {
    not_before: i64,
    not_after: i64,
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
/// `[0] EXPLICIT Version`, present in v2 and v3 certificates.
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// `notBefore` and `notAfter` of a DER X.509 certificate (RFC 5280 §4.1:
/// Certificate → tbsCertificate → [version], serialNumber, signature, issuer,
/// validity). `None` when anything on the way is malformed or truncated.
fn validity(cert: &[u8]) -> Option<Validity> {
    let (cert, _) = der_expect(cert, SEQUENCE)?;
    let (tbs, _) = der_expect(cert, SEQUENCE)?;
    let tbs = match der_next(tbs)? {
        (VERSION, _, rest) => rest,
        _ => tbs,
    };
    let (_serial, rest) = der_expect(tbs, INTEGER)?;
    let (_signature, rest) = der_expect(rest, SEQUENCE)?;
    let (_issuer, rest) = der_expect(rest, SEQUENCE)?;
    let (validity, _) = der_expect(rest, SEQUENCE)?;
    let (tag, not_before, rest) = der_next(validity)?;
    let not_before = der_time(tag, not_before)?;
    let (tag, not_after, _) = der_next(rest)?;
    let not_after = der_time(tag, not_after)?;
    Some(Validity {
        not_before,
        not_after,
    })
}

/// The next DER element of `input`: its tag, its contents and what follows.
/// Only what certificates use here: one-byte tags and definite lengths of at
/// most four length bytes.
fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // a multi-byte tag
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None; // indefinite, absurd or truncated length
        }
        let (bytes, rest) = rest.split_at(n);
        let len = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        (usize::try_from(len).ok()?, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// The next DER element if its tag is `tag`: its contents and what follows.
fn der_expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match der_next(input)? {
        (t, contents, rest) if t == tag => Some((contents, rest)),
        _ => None,
    }
}

/// An X.509 `Time` as Unix seconds: `UTCTime` `YYMMDDHHMMSSZ` (years 1950 to
/// 2049) or `GeneralizedTime` `YYYYMMDDHHMMSSZ`, the only forms RFC 5280
/// allows.
fn der_time(tag: u8, value: &[u8]) -> Option<i64> {
    let (year, rest) = match (tag, value.len()) {
        (UTC_TIME, 13) => {
            let yy = digits(&value[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &value[2..])
        }
        (GENERALIZED_TIME, 15) => (digits(&value[..4])?, &value[4..]),
        _ => return None,
    };
    // rest is MMDDHHMMSSZ
    if rest[10] != b'Z' {
        return None;
    }
    let month = digits(&rest[0..2])?;
    let day = digits(&rest[2..4])?;
    let hour = digits(&rest[4..6])?;
    let minute = digits(&rest[6..8])?;
    let second = digits(&rest[8..10])?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=month_days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// ASCII decimal digits as a number; `None` if any byte is not a digit.
fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A docker-style certificate (self-signed, `CA:TRUE`, subjectAltName
    /// `IP:127.0.0.1, DNS:localhost`), valid from 2020-01-01 to 2021-01-01.
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBbDCCAROgAwIBAgIBATAKBggqhkjOPQQDAjAYMRYwFAYDVQQDDA1yZWdpc3Ry
eS50ZXN0MB4XDTIwMDEwMTAwMDAwMFoXDTIxMDEwMTAwMDAwMFowGDEWMBQGA1UE
AwwNcmVnaXN0cnkudGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABLZHFCPK
MRxQ4J0nHt2lHyF1MCgf72XFnAkJkJoDUQ1xj/PMw8oYaQoYkN+wwxiRtXMeRwnn
9Ov+62S1eotgkVKjTjBMMBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAPBgNV
HRMBAf8EBTADAQH/MB0GA1UdDgQWBBTZnu0BVYTvwKDyYsrepW5TdYVs2DAKBggq
hkjOPQQDAgNHADBEAiBw6fwe2udVjXutmmuuHu6U/3kRoHpLdhM55DNnm4CmxAIg
H3Vp4r5bebWMO2DfIuD+suLxQso/LVOaUYzcA8IeCG0=
-----END CERTIFICATE-----
";

    /// Another such certificate, with another key.
    const OTHER: &str = "-----BEGIN CERTIFICATE-----
MIIBaDCCAQ2gAwIBAgIBAjAKBggqhkjOPQQDAjAVMRMwEQYDVQQDDApvdGhlci50
ZXN0MB4XDTIwMDEwMTAwMDAwMFoXDTIxMDEwMTAwMDAwMFowFTETMBEGA1UEAwwK
b3RoZXIudGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABKcFP9uwyBev8Xon
CnArOeChMDFEtYftsJtPVvJhgdQaGl7v/SEDXKGHnaXSXYfeKEuoOr4OBYyT+4p3
3CUNhpGjTjBMMBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAPBgNVHRMBAf8E
BTADAQH/MB0GA1UdDgQWBBQJ6XPMn8rnKs5S7qygUxUKfBqNDDAKBggqhkjOPQQD
AgNJADBGAiEA7doQXLEfN1IRjiRaxqNfDZMoN/92FusfUmdpYULQeEYCIQC7rbDE
ejmEljoiMRpOwYVmU5rP2pVSyGAtrv3HaRwIZQ==
-----END CERTIFICATE-----
";

    const JAN_2020: i64 = 1_577_836_800;
    const JAN_2021: i64 = 1_609_459_200;

    fn der(pem: &str) -> CertificateDer<'static> {
        parse_certificates(pem.as_bytes(), "test")
            .unwrap()
            .remove(0)
    }

    fn at(secs: i64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs as u64))
    }

    fn verifier(trusted: &str) -> Verifier {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Verifier::new(Some(trusted.as_bytes()), provider).unwrap()
    }

    fn verify(v: &Verifier, cert: &str, name: &str, now: i64) -> Result<(), rustls::Error> {
        let name = ServerName::try_from(name.to_string()).unwrap();
        v.verify_server_cert(&der(cert), &[], &name, &[], at(now))
            .map(|_| ())
    }

    fn cert_error(r: Result<(), rustls::Error>) -> CertificateError {
        match r {
            Err(rustls::Error::InvalidCertificate(e)) => e,
            other => panic!("not a certificate error: {other:?}"),
        }
    }

    type Result<T, E> = std::result::Result<T, E>;

    #[test]
    fn reads_the_validity_of_a_real_certificate() {
        assert_eq!(
            validity(der(CERT).as_ref()),
            Some(Validity {
                not_before: JAN_2020,
                not_after: JAN_2021,
            })
        );
    }

    #[test]
    fn truncated_or_garbage_der_is_none_not_a_panic() {
        let cert = der(CERT);
        let bytes = cert.as_ref();
        for n in 0..bytes.len() {
            assert_eq!(validity(&bytes[..n]), None, "truncated to {n}");
        }
        let mut noise = 0x9e37_79b9_u32;
        for len in 0..300 {
            let garbage: Vec<u8> = (0..len)
                .map(|_| {
                    noise ^= noise << 13;
                    noise ^= noise >> 17;
                    noise ^= noise << 5;
                    noise as u8
                })
                .collect();
            let _ = validity(&garbage);
            let mut framed = vec![SEQUENCE, 0x82, (len >> 8) as u8, len as u8];
            framed.extend(&garbage);
            let _ = validity(&framed);
        }
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x80, 0x00, 0x00],    // indefinite length
            &[0x30, 0x85, 1, 0, 0, 0, 0], // five length bytes
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30], // longer than the input
            &[0x1f, 0x01, 0x00],          // multi-byte tag
            &[0x30, 0x02, 0x30, 0x00],    // a tbs without fields
        ] {
            assert_eq!(validity(bad), None, "{bad:?}");
        }
        // Every byte of the real certificate flipped in turn: never a panic.
        for i in 0..bytes.len() {
            let mut b = bytes.to_vec();
            b[i] ^= 0xff;
            let _ = validity(&b);
        }
    }

    #[test]
    fn times() {
        assert_eq!(der_time(UTC_TIME, b"200101000000Z"), Some(JAN_2020));
        assert_eq!(der_time(UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(der_time(UTC_TIME, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(der_time(UTC_TIME, b"500101000000Z"), Some(-631_152_000));
        assert_eq!(
            der_time(GENERALIZED_TIME, b"20210101000000Z"),
            Some(JAN_2021)
        );
        assert_eq!(
            der_time(GENERALIZED_TIME, b"20500101000000Z"),
            Some(2_524_608_000)
        );
        assert_eq!(
            der_time(GENERALIZED_TIME, b"20240229120000Z"),
            Some(1_709_208_000)
        );
        for (tag, bad) in [
            (UTC_TIME, &b"20010100000Z"[..]),     // short
            (UTC_TIME, b"2001010000000"),         // no Z
            (UTC_TIME, b"201301000000Z"),         // month 13
            (UTC_TIME, b"200230000000Z"),         // 30 February
            (UTC_TIME, b"230229000000Z"),         // 29 February, not a leap year
            (UTC_TIME, b"200101240000Z"),         // hour 24
            (UTC_TIME, b"20010100000+Z"),         // not a digit
            (GENERALIZED_TIME, b"200101000000Z"), // UTCTime length
            (GENERALIZED_TIME, b"20200101000000.5Z"),
            (INTEGER, b"200101000000Z"),
        ] {
            assert_eq!(der_time(tag, bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn a_certificate_trusted_byte_for_byte_is_checked_for_name_and_time() {
        let v = verifier(CERT);
        let mid_2020 = JAN_2020 + 180 * 86_400;
        verify(&v, CERT, "127.0.0.1", mid_2020).expect("IP in subjectAltName");
        verify(&v, CERT, "localhost", mid_2020).expect("DNS name in subjectAltName");
        verify(&v, CERT, "localhost", JAN_2020).expect("the first second");
        verify(&v, CERT, "localhost", JAN_2021).expect("the last second");
        assert!(matches!(
            cert_error(verify(&v, CERT, "127.0.0.2", mid_2020)),
            CertificateError::NotValidForNameContext { .. } | CertificateError::NotValidForName
        ));
        assert!(matches!(
            cert_error(verify(&v, CERT, "registry.example", mid_2020)),
            CertificateError::NotValidForNameContext { .. } | CertificateError::NotValidForName
        ));
        assert!(matches!(
            cert_error(verify(&v, CERT, "localhost", JAN_2021 + 1)),
            CertificateError::ExpiredContext { .. }
        ));
        assert!(matches!(
            cert_error(verify(&v, CERT, "localhost", JAN_2020 - 1)),
            CertificateError::NotValidYetContext { .. }
        ));
    }

    #[test]
    fn another_certificate_gets_webpki_verification() {
        // Trusting one self-signed certificate does not make another one good.
        let v = verifier(OTHER);
        let mid_2020 = JAN_2020 + 180 * 86_400;
        assert!(verify(&v, CERT, "localhost", mid_2020).is_err());
        // Both trusted: each one is accepted as itself.
        let both = verifier(&format!("{CERT}\n{OTHER}"));
        verify(&both, CERT, "localhost", mid_2020).unwrap();
        verify(&both, OTHER, "127.0.0.1", mid_2020).unwrap();
        // The built-in roots trust neither.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let web = Verifier::new(None, provider).unwrap();
        assert!(web.trusted.is_empty());
        assert!(verify(&web, CERT, "localhost", mid_2020).is_err());
    }

    #[test]
    fn plain_http_answers_are_told_apart() {
        let eof = || io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        let e = Error::from_ureq(
            handshake_error(eof(), b"HTTP/1.1 400 Bad Request\r\nContent-", "h:1"),
            "GET",
        );
        assert_eq!(e.kind(), ErrorKind::Tls);
        assert!(e.is_plain_http_answer());
        assert!(e.message().contains("(HTTP/1.1 400 Bad Request)"), "{e}");
        // A server that took the ClientHello for an HTTP/0.9 request
        // (Python's http.server) answers with a bare page, no status line.
        let e = Error::from_ureq(
            handshake_error(eof(), b"<!DOCTYPE HTML>\n<html lang", "h:1"),
            "GET",
        );
        assert!(e.is_plain_http_answer(), "{e}");
        for first in [
            &b""[..],
            b"\x16\x03\x03\x00\x02",
            b"\x15\x03\x03\x00\x02\x02\x28",
            b"HT",
        ] {
            let e = Error::from_ureq(handshake_error(eof(), first, "h:1"), "GET");
            assert!(!e.is_plain_http_answer(), "{first:?}");
        }
    }

    #[test]
    fn socks_proxies_are_refused() {
        let config = Agent::config_builder()
            .proxy(Some(ureq::Proxy::new("socks5://127.0.0.1:1080").unwrap()))
            .build();
        let tls = TlsSettings {
            ca_pem: None,
            client_cert: None,
        };
        let e = agent(config, &tls).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
}
