#!/usr/bin/python3
"""The DNS server of the ACME tests: answers TXT questions, over UDP and
TCP on 127.0.0.1, from a file of "NAME VALUE" lines that the test (and
lego's exec hook) rewrites while it runs; a name with no line is NXDOMAIN.
Debian's python3-dnslib only.

Usage: dns_server.py RECORDS_FILE PORT_FILE
Binds an ephemeral port, writes it to PORT_FILE, serves until killed.
"""
import os
import socket
import sys
import time

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class FileResolver(BaseResolver):
    def __init__(self, path):
        self.path = path

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        try:
            with open(self.path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        found = False
        for line in lines:
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0].rstrip(".").lower() == qname:
                found = True
                if request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
                    reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(parts[1]), ttl=0))
        if not found:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def main():
    records, port_file = sys.argv[1:3]
    # One port for both: find a UDP port whose TCP twin is free too.
    for _ in range(20):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        try:
            resolver = FileResolver(records)
            logger = DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data")
            udp = DNSServer(resolver, address="127.0.0.1", port=port, logger=logger)
            tcp = DNSServer(resolver, address="127.0.0.1", port=port, tcp=True, logger=logger)
            break
        except OSError:
            continue
    else:
        sys.exit("dns_server: no free port")
    udp.start_thread()
    tcp.start_thread()
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(port_file + ".tmp", port_file)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
