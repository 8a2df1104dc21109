#!/usr/bin/python3
"""A minimal ACME client (RFC 8555) that does what stock clients never do:
sends the broken requests the negative tests need, and reads renewal
information (RFC 9773). Debian's python3-cryptography only.

Usage: acme_client.py SCENARIO DIRECTORY_URL CA_FILE EAB_KID EAB_KEY [ARGS...]
Exits 0 when the server answered as the scenario expects, else prints why
and exits 1.
"""
import base64
import calendar
import hashlib
import hmac
import http.server
import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_json(obj):
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


class Fail(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Fail(what)


class Key:
    def __init__(self, kind="p256"):
        self.kind = kind
        if kind == "p256":
            self.key, self.alg, self.size = ec.generate_private_key(ec.SECP256R1()), "ES256", 32
        elif kind == "p521":
            self.key, self.alg, self.size = ec.generate_private_key(ec.SECP521R1()), "ES512", 66
        elif kind == "rsa1024":
            self.key, self.alg = rsa.generate_private_key(65537, 1024), "RS256"
        else:
            raise ValueError(kind)

    def jwk(self):
        pub = self.key.public_key().public_numbers()
        if isinstance(self.key, rsa.RSAPrivateKey):
            n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
            e = pub.e.to_bytes((pub.e.bit_length() + 7) // 8, "big")
            return {"e": b64u(e), "kty": "RSA", "n": b64u(n)}
        crv = {"p256": "P-256", "p521": "P-521"}[self.kind]
        return {"crv": crv, "kty": "EC", "x": b64u(pub.x.to_bytes(self.size, "big")),
                "y": b64u(pub.y.to_bytes(self.size, "big"))}

    def thumbprint(self):
        return b64u(hashlib.sha256(json.dumps(self.jwk(), sort_keys=True, separators=(",", ":")).encode()).digest())

    def sign(self, data):
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        digest = {"ES256": hashes.SHA256(), "ES512": hashes.SHA512()}[self.alg]
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(digest)))
        return r.to_bytes(self.size, "big") + s.to_bytes(self.size, "big")


class Client:
    def __init__(self, directory, ca_file):
        self.ctx = ssl.create_default_context(cafile=ca_file)
        self.dir = self.get_json(directory)
        self.key = Key()
        self.kid = None

    def request(self, url, data=None, method=None, ctype="application/jose+json"):
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def get_json(self, url):
        status, _, body = self.request(url)
        expect(status == 200, "GET %s: %d" % (url, status))
        return json.loads(body)

    def nonce(self):
        status, headers, _ = self.request(self.dir["newNonce"], method="HEAD")
        expect(status == 200 and headers.get("Replay-Nonce"), "HEAD newNonce: %d, no nonce" % status)
        return headers["Replay-Nonce"]

    def jws(self, url, payload, key=None, use_jwk=False, nonce=None, sign_url=None, tamper=False):
        key = key or self.key
        protected = {"alg": key.alg, "nonce": nonce or self.nonce(), "url": sign_url or url}
        if use_jwk or self.kid is None:
            protected["jwk"] = key.jwk()
        else:
            protected["kid"] = self.kid
        p = b64u_json(protected)
        body = "" if payload is None else b64u_json(payload)
        sig = bytearray(key.sign(("%s.%s" % (p, body)).encode()))
        if tamper:
            sig[len(sig) // 2] ^= 0x01
        return json.dumps({"protected": p, "payload": body, "signature": b64u(bytes(sig))}).encode()

    def post(self, url, payload, **kw):
        status, headers, body = self.request(url, self.jws(url, payload, **kw))
        try:
            doc = json.loads(body) if body else None
        except ValueError:
            doc = None
        return status, headers, doc

    def eab(self, kid, hmac_key, key=None):
        key = key or self.key
        url = self.dir["newAccount"]
        p = b64u_json({"alg": "HS256", "kid": kid, "url": url})
        body = b64u_json(key.jwk())
        mac = hmac.new(base64.urlsafe_b64decode(hmac_key + "=" * (-len(hmac_key) % 4)),
                       ("%s.%s" % (p, body)).encode(), hashlib.sha256).digest()
        return {"protected": p, "payload": body, "signature": b64u(mac)}

    def new_account(self, kid, hmac_key, key=None):
        key = key or self.key
        payload = {"termsOfServiceAgreed": True, "contact": ["mailto:ops@example.com"],
                   "externalAccountBinding": self.eab(kid, hmac_key, key)}
        status, headers, doc = self.post(self.dir["newAccount"], payload, key=key, use_jwk=True)
        if status in (200, 201):
            self.kid = headers["Location"]
        return status, headers, doc


def problem(doc, name):
    return doc is not None and doc.get("type") == "urn:ietf:params:acme:error:" + name


def check_problem(status, doc, name, what):
    expect(problem(doc, name), "%s: want %s, got %d %s" % (what, name, status, doc))


class Http01(threading.Thread):
    """Answers every http-01 token with body (the wrong one, when asked to)."""

    def __init__(self, port, body):
        super().__init__(daemon=True)
        answer = body.encode()

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", port), H)

    def run(self):
        self.server.serve_forever()


def poll(client, url, until, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        status, _, doc = client.post(url, None)
        expect(status == 200, "POST-as-GET %s: %d %s" % (url, status, doc))
        if doc["status"] in until:
            return doc
        time.sleep(0.2)
    raise Fail("%s stayed %s" % (url, doc["status"]))


def csr_der(key, names):
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
    b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def revoke_by_authorization(c, order, port, cert_file):
    """RFC 8555 7.6's third way: refused before this account holds an authorization for the
    certificate's name, accepted once it validated it (http-01); 7.1.2.1: its orders list."""
    with open(cert_file, "rb") as f:
        der = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)
    name = order["identifiers"][0]["value"]
    status, _, doc = c.post(c.dir["revokeCert"], {"certificate": b64u(der)})
    check_problem(status, doc, "unauthorized", "revokeCert of another account's certificate, no authorization")
    expect(name in doc.get("detail", ""), "the refusal names %s: %s" % (name, doc))
    status, headers, doc = c.post(c.dir["newOrder"], order)
    expect(status == 201, "newOrder: %d %s" % (status, doc))
    order_url = headers["Location"]
    status, _, acct = c.post(c.kid, None)
    expect(status == 200 and acct.get("orders") == c.kid + "/orders", "account: %d %s" % (status, acct))
    status, _, doc = c.post(acct["orders"], None)
    expect(status == 200 and doc.get("orders") == [order_url], "orders list: %d %s" % (status, doc))
    status, _, doc = c.post(acct["orders"] + "/not-a-cursor", None)
    check_problem(status, doc, "malformed", "an orders list page with a malformed cursor")
    authz_url = c.post(order_url, None)[2]["authorizations"][0]
    authz = poll(c, authz_url, ("pending",))
    chall = [x for x in authz["challenges"] if x["type"] == "http-01"][0]
    server = Http01(port, chall["token"] + "." + c.key.thumbprint())
    server.start()
    try:
        status, _, _ = c.post(chall["url"], {})
        expect(status == 200, "challenge POST: %d" % status)
        authz = poll(c, authz_url, ("valid", "invalid"))
        expect(authz["status"] == "valid", "authorization is %s" % authz["status"])
    finally:
        server.server.shutdown()
    status, _, doc = c.post(c.dir["revokeCert"], {"certificate": b64u(der), "reason": 4})
    expect(status == 200, "revokeCert by authorization: %d %s" % (status, doc))
    status, _, doc = c.post(c.dir["revokeCert"], {"certificate": b64u(der)})
    check_problem(status, doc, "alreadyRevoked", "revokeCert once more")


def scenario(name, c, kid, hmac_key, args):
    if name == "refused-key-types":
        for kind, want in (("p521", "badSignatureAlgorithm"), ("rsa1024", "badPublicKey")):
            status, _, doc = c.new_account(kid, hmac_key, key=Key(kind))
            check_problem(status, doc, want, "newAccount with a %s key" % kind)
        return
    status, _, doc = c.new_account(kid, hmac_key)
    expect(status == 201, "newAccount: %d %s" % (status, doc))
    order = {"identifiers": [{"type": "dns", "value": args[0] if args else "neg.example.com"}]}
    if name == "bad-signature":
        status, _, doc = c.post(c.dir["newOrder"], order, tamper=True)
        check_problem(status, doc, "malformed", "a JWS whose signature does not verify")
    elif name == "replayed-nonce":
        nonce = c.nonce()
        status, _, doc = c.post(c.dir["newOrder"], order, nonce=nonce)
        expect(status == 201, "first use of a nonce: %d %s" % (status, doc))
        status, _, doc = c.post(c.dir["newOrder"], order, nonce=nonce)
        check_problem(status, doc, "badNonce", "the same nonce again")
    elif name == "url-mismatch":
        status, _, doc = c.post(c.dir["newOrder"], order, sign_url=c.dir["newAccount"])
        check_problem(status, doc, "unauthorized", "a JWS whose url is another resource's")
    elif name == "outside-eab":
        status, _, doc = c.post(c.dir["newOrder"], order)
        check_problem(status, doc, "rejectedIdentifier", "a name outside the EAB key's suffixes")
    elif name == "revoke-by-authorization":
        revoke_by_authorization(c, order, int(args[1]), args[2])
    elif name == "wrong-key-authorization":
        port = int(args[1])
        server = Http01(port, "not-the-key-authorization")
        server.start()
        try:
            status, headers, doc = c.post(c.dir["newOrder"], order)
            expect(status == 201, "newOrder: %d %s" % (status, doc))
            order_url = headers["Location"]
            authz = poll(c, doc["authorizations"][0], ("pending",))
            chall = [x for x in authz["challenges"] if x["type"] == "http-01"][0]
            status, _, _ = c.post(chall["url"], {})
            expect(status == 200, "challenge POST: %d" % status)
            authz = poll(c, doc["authorizations"][0], ("invalid", "valid"))
            expect(authz["status"] == "invalid", "authorization is %s" % authz["status"])
            chall = [x for x in authz["challenges"] if x["type"] == "http-01"][0]
            expect(problem(chall.get("error"), "incorrectResponse"), "challenge error %s" % chall.get("error"))
            key = ec.generate_private_key(ec.SECP256R1())
            status, _, doc = c.post(doc["finalize"], {"csr": b64u(csr_der(key, [order["identifiers"][0]["value"]]))})
            check_problem(status, doc, "orderNotReady", "finalize after a failed challenge")
            status, _, doc = c.post(order_url, None)
            expect(doc["status"] == "invalid", "the order is %s" % doc["status"])
        finally:
            server.server.shutdown()
    elif name == "wrong-dns-txt":
        # args: NAME (a wildcard, *.BASE) HTTP_PORT RECORDS_FILE of dns_server.py
        base = order["identifiers"][0]["value"][2:]
        status, headers, doc = c.post(c.dir["newOrder"], order)
        expect(status == 201, "newOrder of a wildcard: %d %s" % (status, doc))
        order_url = headers["Location"]
        authz = poll(c, doc["authorizations"][0], ("pending",))
        expect(authz.get("wildcard") is True and authz["identifier"]["value"] == base,
               "the wildcard's authorization: %s" % authz)
        expect([x["type"] for x in authz["challenges"]] == ["dns-01"], "its challenges: %s" % authz["challenges"])
        with open(args[2], "a") as f:
            f.write("_acme-challenge.%s. %s\n" % (base, b64u(hashlib.sha256(b"not-the-key-authorization").digest())))
        status, _, _ = c.post(authz["challenges"][0]["url"], {})
        expect(status == 200, "challenge POST: %d" % status)
        authz = poll(c, doc["authorizations"][0], ("invalid", "valid"))
        expect(authz["status"] == "invalid", "authorization is %s" % authz["status"])
        err = authz["challenges"][0].get("error")
        expect(problem(err, "incorrectResponse") and "_acme-challenge." + base in err.get("detail", ""),
               "challenge error %s" % err)
        key = ec.generate_private_key(ec.SECP256R1())
        status, _, doc = c.post(doc["finalize"], {"csr": b64u(csr_der(key, [order["identifiers"][0]["value"]]))})
        check_problem(status, doc, "orderNotReady", "finalize after a failed dns-01 challenge")
        status, _, doc = c.post(order_url, None)
        expect(doc["status"] == "invalid", "the order is %s" % doc["status"])
    else:
        raise Fail("unknown scenario " + name)


def renewal_info(c, cert_file, want):
    """RFC 9773 4.1: certID = base64url(AKI keyIdentifier) "." base64url(serial's DER content)."""
    with open(cert_file, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    n = cert.serial_number
    serial = n.to_bytes(n.bit_length() // 8 + 1, "big")
    cert_id = b64u(aki) + "." + b64u(serial)
    status, headers, body = c.request(c.dir["renewalInfo"] + "/" + cert_id)
    expect(status == 200, "renewalInfo %s: %d %s" % (cert_id, status, body))
    expect(headers.get("Retry-After"), "renewalInfo without Retry-After")
    w = json.loads(body)["suggestedWindow"]
    start = calendar.timegm(time.strptime(w["start"], "%Y-%m-%dT%H:%M:%SZ"))
    end = calendar.timegm(time.strptime(w["end"], "%Y-%m-%dT%H:%M:%SZ"))
    nb = calendar.timegm(cert.not_valid_before.timetuple())
    na = calendar.timegm(cert.not_valid_after.timetuple())
    expect(start < end, "window %s" % w)
    if want == "middle-third":
        life = na - nb
        expect(abs(start - (nb + life * 0.33)) < 120 and abs(end - (nb + life * 0.66)) < 120,
               "window %s is not the middle third of %s .. %s" % (w, cert.not_valid_before, cert.not_valid_after))
    elif want == "past":
        expect(end < time.time(), "window %s is not in the past" % w)
    else:
        raise Fail("unknown window " + want)


def main():
    name, directory, ca_file = sys.argv[1:4]
    c = Client(directory, ca_file)
    try:
        if name == "renewal-info":
            renewal_info(c, sys.argv[4], sys.argv[5])
        else:
            scenario(name, c, sys.argv[4], sys.argv[5], sys.argv[6:])
    except Fail as e:
        print("acme_client %s: %s" % (name, e), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
