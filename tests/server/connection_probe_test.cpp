// ConnectionProbe finds a request's socket by its endpoints and tells a closed or reset
// client from a connected (or pipelining) one, over real loopback TCP.
#include "server/connection_probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace moe {
namespace {

// A connected loopback pair: the client's socket and the server's accepted one.
struct LoopbackPair {
  int listener = -1, client = -1, accepted = -1;
  LoopbackPair() {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(listener, 4) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    accepted = accept(listener, nullptr, nullptr);
  }
  ~LoopbackPair() {
    for (int fd : {listener, client, accepted}) {
      if (fd >= 0) close(fd);
    }
  }
  bool ok() const { return accepted >= 0; }
};

// Splits "host:port" as socket_endpoint writes it.
void split(const std::string& endpoint, std::string* host, int* port) {
  const size_t colon = endpoint.rfind(':');
  *host = endpoint.substr(0, colon);
  *port = std::stoi(endpoint.substr(colon + 1));
}

TEST(ConnectionProbe, FindsTheAcceptedSocketByItsEndpoints) {
  LoopbackPair a, b;  // two connections to different listeners: the probe must pick the right one
  ASSERT_TRUE(a.ok() && b.ok());
  httplib::Request req;
  split(socket_endpoint(b.accepted, false), &req.local_addr, &req.local_port);
  split(socket_endpoint(b.accepted, true), &req.remote_addr, &req.remote_port);
  EXPECT_EQ(req.remote_addr, "127.0.0.1");
  const ConnectionProbe probe = ConnectionProbe::for_request(req);
  ASSERT_TRUE(probe.found());
  EXPECT_FALSE(probe.client_gone());
  close(b.client);
  b.client = -1;
  EXPECT_TRUE(probe.client_gone());
  EXPECT_FALSE(ConnectionProbe::for_socket(a.accepted).client_gone());  // the other one is untouched
}

TEST(ConnectionProbe, PendingBytesAreAliveAResetIsGone) {
  LoopbackPair p;
  ASSERT_TRUE(p.ok());
  const ConnectionProbe probe = ConnectionProbe::for_socket(p.accepted);
  ASSERT_EQ(write(p.client, "GET / HTTP/1.1\r\n", 16), 16);  // a pipelined next request
  EXPECT_FALSE(probe.client_gone());
  char buf[16];
  ASSERT_EQ(read(p.accepted, buf, sizeof buf), 16);
  EXPECT_FALSE(probe.client_gone());
  linger hard{1, 0};  // close with RST
  ASSERT_EQ(setsockopt(p.client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard), 0);
  close(p.client);
  p.client = -1;
  EXPECT_TRUE(probe.client_gone());
}

TEST(ConnectionProbe, UnknownRequestsProbeAsAlive) {
  httplib::Request req;  // no endpoints (not from a TCP connection)
  const ConnectionProbe probe = ConnectionProbe::for_request(req);
  EXPECT_FALSE(probe.found());
  EXPECT_FALSE(probe.client_gone());
  req.remote_addr = "127.0.0.1";
  req.remote_port = 1;
  req.local_addr = "127.0.0.1";
  req.local_port = 1;
  EXPECT_FALSE(ConnectionProbe::for_request(req).found());
}

}  // namespace
}  // namespace moe
