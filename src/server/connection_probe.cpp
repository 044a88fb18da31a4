#include "server/connection_probe.h"

#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace moe {

std::string socket_endpoint(int fd, bool peer) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  const int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                      : getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0 || (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)) return {};
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host), port, sizeof(port),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return {};
  }
  return std::string(host) + ":" + port;
}

ConnectionProbe ConnectionProbe::for_request(const httplib::Request& req) {
  if (req.remote_port <= 0 || req.local_port <= 0) return ConnectionProbe(-1);
  const std::string local = req.local_addr + ":" + std::to_string(req.local_port);
  const std::string remote = req.remote_addr + ":" + std::to_string(req.remote_port);
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return ConnectionProbe(-1);
  int found = -1;
  while (dirent* e = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    // The peer end first: it is unique to one connection (the local end is shared by all
    // connections to the listening port).
    if (socket_endpoint(static_cast<int>(fd), true) == remote &&
        socket_endpoint(static_cast<int>(fd), false) == local) {
      found = static_cast<int>(fd);
      break;
    }
  }
  closedir(dir);
  return ConnectionProbe(found);
}

bool ConnectionProbe::client_gone() const {
  if (fd_ < 0) return false;
  char byte = 0;
  for (;;) {
    const ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return false;   // a pipelined request waits: still there
    if (n == 0) return true;   // orderly close
    if (errno == EINTR) continue;
    return errno != EAGAIN && errno != EWOULDBLOCK;  // reset, or no longer a socket
  }
}

}  // namespace moe
