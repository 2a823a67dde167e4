"""
A userspace stand-in for `tc netem`, for kernels built without sch_netem.

    python3 impair.py <host-side interface> <bridge-side interface>

Runs inside the bridge namespace of test/helpers/netns.ts and relays every
Ethernet frame between the two interfaces with AF_PACKET sockets. Frames that
leave the host (host side -> bridge side) are delayed by `delay_ms` +/- a
uniform `jitter_ms` (so they also reorder, as netem does with jitter) and
dropped with probability `loss`; frames towards the host pass untouched, so
impairing every host gives each path exactly one impaired hop, like
`tc qdisc add dev eth0 root netem ...` on each host.

stdin: one JSON object per line replaces the parameters:
    {"delay_ms": 20, "jitter_ms": 20, "loss": 0.05}
stdout: "ready" once both sockets are bound; "dropped <n> relayed <n>" on EOF.
"""
import heapq
import json
import os
import random
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

host_if, bridge_if = sys.argv[1], sys.argv[2]
params = {"delay_ms": 0.0, "jitter_ms": 0.0, "loss": 0.0}
if len(sys.argv) > 3:
    params.update(json.loads(sys.argv[3]))


def checksum(data):
    """RFC 1071 sum; byte-order independent, so sum native 16-bit words and swap at the end."""
    if len(data) % 2:
        data = data + b"\0"
    total = sum(memoryview(data).cast("H"))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    total = ~total & 0xFFFF
    return ((total & 0xFF) << 8 | total >> 8) if sys.byteorder == "little" else total


def fix_checksum(frame):
    """
    A frame captured on a veth carries the TCP/UDP checksum the kernel left for
    offload (only the pseudo-header part); sent again through a packet socket it
    would be dropped. Recompute it for IPv4 TCP and UDP.
    """
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return frame
    ihl = (frame[14] & 0x0F) * 4
    proto = frame[23]
    total_length = int.from_bytes(frame[16:18], "big")
    if proto not in (6, 17) or (int.from_bytes(frame[20:22], "big") & 0x3FFF) != 0:
        return frame  # not TCP/UDP, or a fragment
    start = 14 + ihl
    end = 14 + total_length
    segment = bytearray(frame[start:end])
    offset = 16 if proto == 6 else 6
    if len(segment) < offset + 2:
        return frame
    segment[offset:offset + 2] = b"\0\0"
    pseudo = frame[26:34] + bytes([0, proto]) + len(segment).to_bytes(2, "big")
    value = checksum(pseudo + bytes(segment))
    if proto == 17 and value == 0:
        value = 0xFFFF
    segment[offset:offset + 2] = value.to_bytes(2, "big")
    return frame[:start] + bytes(segment) + frame[end:]


def open_socket(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024 * 1024)
    s.bind((ifname, 0))
    s.setblocking(False)
    return s


host = open_socket(host_if)
bridge = open_socket(bridge_if)
queue = []  # (due, seq, frame): frames from the host waiting for their delay
seq = 0
dropped = 0
relayed = 0
print("ready", flush=True)

stdin = sys.stdin.fileno()
os.set_blocking(stdin, False)
buffered = b""
running = True
while running:
    now = time.monotonic()
    timeout = None if not queue else max(0.0, queue[0][0] - now)
    readable, _, _ = select.select([host, bridge, stdin], [], [], timeout)
    for s in readable:
        if s is stdin:
            chunk = os.read(stdin, 65536)
            if not chunk:
                running = False
                break
            buffered += chunk
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                if line.strip():
                    params.update(json.loads(line))
            continue
        while True:
            try:
                frame, address = s.recvfrom(262144)
            except BlockingIOError:
                break
            if address[2] == PACKET_OUTGOING:
                continue  # our own transmissions, seen again by the tap
            frame = fix_checksum(frame)
            if s is bridge:
                try:
                    host.send(frame)
                except OSError:
                    pass  # link down (a partition): the frame is lost
                continue
            if params["loss"] > 0 and random.random() < params["loss"]:
                dropped += 1
                continue
            delay = params["delay_ms"] + random.uniform(-params["jitter_ms"], params["jitter_ms"])
            heapq.heappush(queue, (time.monotonic() + max(0.0, delay) / 1000.0, seq, frame))
            seq += 1
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        _, _, frame = heapq.heappop(queue)
        try:
            bridge.send(frame)
            relayed += 1
        except OSError:
            dropped += 1
print(f"dropped {dropped} relayed {relayed}", flush=True)
