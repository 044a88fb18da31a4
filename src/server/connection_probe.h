// Whether the client of a request is still connected, for handlers that answer once at
// the end (non-streaming completions): a client that times out or is cancelled should free
// its slot at once, as a streaming one does when a write fails. httplib 0.11 gives a
// handler no socket, so the probe finds the accepted socket among this process's file
// descriptors by the request's two endpoints (local and remote address and port), once.
#pragma once

#include <httplib.h>

#include <string>

namespace moe {

class ConnectionProbe {
 public:
  // The socket of `req`'s connection; an unfound one (not TCP, already gone) probes as alive.
  static ConnectionProbe for_request(const httplib::Request& req);
  // The same for a socket that is already known (tests).
  static ConnectionProbe for_socket(int fd) { return ConnectionProbe(fd); }

  bool found() const { return fd_ >= 0; }
  // True once the peer has closed or reset the connection (a peek reads end of file or an
  // error). Bytes of a next, pipelined request count as alive. Never blocks. A client that
  // shuts down only its sending side after the request (rare for HTTP clients) reads as
  // gone, as with the same check in later httplib versions.
  bool client_gone() const;

 private:
  explicit ConnectionProbe(int fd) : fd_(fd) {}
  int fd_ = -1;  // not owned: httplib closes it after the handler returns
};

// "host:port" of a socket's local or peer end as httplib writes it (numeric host), or "".
std::string socket_endpoint(int fd, bool peer);

}  // namespace moe
