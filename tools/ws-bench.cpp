// ws-bench: holds N WebSocket clients of the realtime stream open (bench/stream)
// and notes when each whatsapp_message frame reaches each client.
//
//   ws-bench PORT PATH_WITH_QUERY N MESSAGES OUT [TIMEOUT_S]
//
// Opens the N connections (epoll, non-blocking), completes every handshake
// and waits for every `connected` frame, then prints "ready N" on stdout.
// From then on it reads frames; a whatsapp_message whose text is "b<i> ..."
// is message i. When every client has MESSAGES of them (or after TIMEOUT_S,
// default 60), it writes one line per arrival to OUT, "i client unix_ns",
// and prints "done ARRIVALS". Pings are answered with pongs. Once ready it
// polls without sleeping (see the loop).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Client {
    int fd = -1;
    std::string in;
    bool upgraded = false;
    bool connected = false;
    int messages = 0;
};

struct Arrival {
    int message;
    int client;
    std::int64_t ns;
};

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void send_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EAGAIN) {
            usleep(100);
        } else {
            return;
        }
    }
}

// A masked client frame (the mask is zero: the payload is sent as is).
std::string client_frame(int opcode, const std::string& payload) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    f.push_back(static_cast<char>(0x80 | payload.size()));  // control frames: <= 125
    f.append(4, '\0');
    f += payload;
    return f;
}

// Takes the complete frames off c.in; false when the connection must go.
bool take_frames(Client& c, int index, std::vector<Arrival>& out) {
    for (;;) {
        if (c.in.size() < 2) return true;
        auto b0 = static_cast<unsigned char>(c.in[0]);
        auto b1 = static_cast<unsigned char>(c.in[1]);
        std::size_t len = b1 & 0x7f, off = 2;
        if (len == 126) {
            if (c.in.size() < 4) return true;
            len = (static_cast<unsigned char>(c.in[2]) << 8) | static_cast<unsigned char>(c.in[3]);
            off = 4;
        } else if (len == 127) {
            if (c.in.size() < 10) return true;
            len = 0;
            for (int i = 2; i < 10; i++)
                len = (len << 8) | static_cast<unsigned char>(c.in[static_cast<std::size_t>(i)]);
            off = 10;
        }
        if (c.in.size() < off + len) return true;
        std::string payload = c.in.substr(off, len);
        c.in.erase(0, off + len);
        int op = b0 & 0x0f;
        if (op == 8) return false;
        if (op == 9) {
            send_all(c.fd, client_frame(10, payload));
            continue;
        }
        if (op != 1) continue;
        if (payload.find("\"type\":\"connected\"") != std::string::npos) {
            c.connected = true;
            continue;
        }
        std::size_t at = payload.find("\"text\":\"b");
        if (at == std::string::npos) continue;
        int message = std::atoi(payload.c_str() + at + 9);
        out.push_back({message, index, now_ns()});
        c.messages++;
    }
}

int connect_to(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 && errno != EINPROGRESS) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: ws-bench PORT PATH N MESSAGES OUT [TIMEOUT_S]\n");
        return 2;
    }
    int port = std::atoi(argv[1]);
    std::string path = argv[2];
    int n = std::atoi(argv[3]);
    int want = std::atoi(argv[4]);
    const char* out_path = argv[5];
    int timeout_s = argc > 6 ? std::atoi(argv[6]) : 60;

    int ep = epoll_create1(0);
    std::vector<Client> clients(static_cast<std::size_t>(n));
    std::string request = "GET " + path +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n";
    // Connect in waves so that the listen backlog never overflows.
    int opened = 0, ready = 0;
    std::vector<Arrival> arrivals;
    arrivals.reserve(static_cast<std::size_t>(n) * static_cast<std::size_t>(want));
    std::vector<epoll_event> events(4096);
    bool announced = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    long long done_clients = 0;
    char buf[65536];
    for (;;) {
        while (opened < n && opened - ready < 256) {
            int fd = connect_to(port);
            if (fd < 0) {
                std::perror("connect");
                return 1;
            }
            clients[static_cast<std::size_t>(opened)].fd = fd;
            epoll_event e{};
            e.events = EPOLLIN | EPOLLOUT;
            e.data.u32 = static_cast<std::uint32_t>(opened);
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
            opened++;
        }
        if (!announced && ready == n) {
            std::printf("ready %d\n", n);
            std::fflush(stdout);
            announced = true;
            deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
        }
        if (announced && done_clients == n) break;
        if (std::chrono::steady_clock::now() > deadline) break;
        // Once every client is ready, spin instead of sleeping: a sleeping
        // reader on this machine would make each of the server's sends wake
        // it (a cross-CPU interrupt, costly in a VM), which remote clients
        // never cost the server. It has its own CPU.
        int got =
            epoll_wait(ep, events.data(), static_cast<int>(events.size()), announced ? 0 : 100);
        for (int i = 0; i < got; i++) {
            auto index = static_cast<int>(events[static_cast<std::size_t>(i)].data.u32);
            Client& c = clients[static_cast<std::size_t>(index)];
            if (events[static_cast<std::size_t>(i)].events & EPOLLOUT) {
                if (!c.upgraded && c.in.empty()) send_all(c.fd, request);
                epoll_event e{};
                e.events = EPOLLIN;
                e.data.u32 = static_cast<std::uint32_t>(index);
                epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &e);
            }
            if (!(events[static_cast<std::size_t>(i)].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                continue;
            }
            for (;;) {
                ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
                if (r > 0) {
                    c.in.append(buf, static_cast<std::size_t>(r));
                    continue;
                }
                if (r == 0 || errno != EAGAIN) {
                    std::fprintf(stderr, "client %d: connection lost\n", index);
                    return 1;
                }
                break;
            }
            if (!c.upgraded) {
                std::size_t end = c.in.find("\r\n\r\n");
                if (end == std::string::npos) continue;
                if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) {
                    std::fprintf(stderr, "client %d: %s\n", index, c.in.substr(0, 80).c_str());
                    return 1;
                }
                c.in.erase(0, end + 4);
                c.upgraded = true;
            }
            bool was_connected = c.connected;
            int before = c.messages;
            if (!take_frames(c, index, arrivals)) {
                std::fprintf(stderr, "client %d: closed by the server\n", index);
                return 1;
            }
            if (!was_connected && c.connected) ready++;
            if (before < want && c.messages >= want) done_clients++;
        }
    }
    FILE* out = std::fopen(out_path, "w");
    if (out == nullptr) return 1;
    for (const Arrival& a : arrivals)
        std::fprintf(out, "%d %d %lld\n", a.message, a.client, static_cast<long long>(a.ns));
    std::fclose(out);
    std::printf("done %zu\n", arrivals.size());
    return done_clients == n ? 0 : 3;
}
