#!/usr/bin/env python3
# Regenerates the deliberately weak RSA-2048 test keys in this directory
# (never use them for anything else):
#   weak-roca-rsa2048.key    primes of the ROCA form p = k*M + (65537^a mod M),
#                            M the product of the primes up to 167, so the
#                            modulus has the ROCA fingerprint
#   weak-fermat-rsa2048.key  two consecutive primes: Fermat's method factors
#                            the modulus in its first round
# Needs python3-cryptography. Output: PKCS#8 PEM, unencrypted.
import math
import secrets
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

E = 65537
SMALL = [p for p in range(2, 168) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


def is_prime(n, rounds=40):
    if n < 2:
        return False
    for p in SMALL:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = secrets.randbelow(n - 3) + 2
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def roca_prime(bits):
    m = math.prod(SMALL)
    while True:
        a = secrets.randbelow(m)
        # p in [sqrt(2) * 2^(bits-1), 2^bits) so that p * q has exactly 2 * bits bits
        lo, hi = math.isqrt(2 << (2 * bits - 2)) // m + 1, (1 << bits) // m - 1
        k = lo + secrets.randbelow(hi - lo)
        p = k * m + pow(E, a, m)
        if p.bit_length() == bits and math.gcd(p - 1, E) == 1 and is_prime(p):
            return p


def next_prime(n):
    n |= 1
    while not is_prime(n):
        n += 2
    return n


def key(p, q):
    n = p * q
    d = pow(E, -1, math.lcm(p - 1, q - 1))
    priv = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                 rsa.RSAPublicNumbers(E, n))
    return priv.private_key().private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())


def main():
    while True:
        p, q = roca_prime(1024), roca_prime(1024)
        if (p * q).bit_length() == 2048:
            break
    open("weak-roca-rsa2048.key", "wb").write(key(p, q))
    while True:
        p = next_prime(secrets.randbits(1024) | (3 << 1022))
        q = next_prime(p + 2)
        if math.gcd(p - 1, E) == 1 and math.gcd(q - 1, E) == 1:
            break
    open("weak-fermat-rsa2048.key", "wb").write(key(p, q))
    return 0


if __name__ == "__main__":
    sys.exit(main())
