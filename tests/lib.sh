# Shell helpers the runner scripts share: source it (`. "$root/tests/lib.sh"`).
# Network: 127.0.0.1 only.

# free_port: prints a TCP port that is free on 127.0.0.1 now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# port_open PORT: whether something accepts connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
