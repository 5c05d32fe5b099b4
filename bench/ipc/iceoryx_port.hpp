// Copyright lqs authors. iceoryx 2.0 (Debian's libiceoryx-posh-dev) as a raw zero-copy latency
// peer of lqs-bench: publish/subscribe through RouDi's shared memory, no queue semantics (no
// lease, no delete, no redelivery). Only the latency workloads run it.
//
// The producer loans a chunk, writes the body into it and publishes it; the consumer takes the
// chunk, reads the body in place (zero copy) and releases it. The subscriber queue blocks the
// publisher when full (WAIT_FOR_CONSUMER); the parked consumer waits on a WaitSet in 100 ms
// slices. Every child process is its own iceoryx runtime ("lqsb-<pid>"), and must leave through
// exit() (kExitNormally) so that the runtime's destructor deregisters it from RouDi.
#ifndef LQS_BENCH_IPC_ICEORYX_PORT_HPP_
#define LQS_BENCH_IPC_ICEORYX_PORT_HPP_

#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"
#include "ports.hpp"
#include "servers.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>

namespace lqs::bench {

class IceoryxPort {
 public:
  static constexpr const char* kName = "iceoryx";
  static constexpr bool kExitNormally = true;

  static bool create(ChannelSpec& c, std::string& err) {
    const ServerInfo& s = ensure_server("roudi");
    if (!s.running) {
      err = "iox-roudi: " + s.error;
      return false;
    }
    (void)c;
    return true;
  }
  static void remove(const ChannelSpec& /*c*/) {}
  static bool prefault(const ChannelSpec& /*c*/, std::string& /*err*/) { return true; }

  void set_role(bool producer) { producer_ = producer; }

  bool open(const ChannelSpec& c, std::string& err) {
    const std::string rt = "lqsb-" + std::to_string(getpid());
    // Debian's build logs every registration at debug level, to stdout, and announces the
    // change of level there too: keep the table clean.
    std::fflush(nullptr);
    const int saved_out = dup(1);
    const int saved_err = dup(2);
    const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd >= 0) {
      (void)dup2(null_fd, 1);
      (void)dup2(null_fd, 2);
      (void)::close(null_fd);
    }
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn);
    std::fflush(nullptr);
    for (auto [saved, fd] : {std::pair{saved_out, 1}, std::pair{saved_err, 2}}) {
      if (saved >= 0) {
        (void)dup2(saved, fd);
        (void)::close(saved);
      }
    }
    iox::runtime::PoshRuntime::initRuntime(iox::RuntimeName_t(iox::cxx::TruncateToCapacity, rt));
    const iox::capro::IdString_t instance(iox::cxx::TruncateToCapacity, c.name);
    const iox::capro::ServiceDescription service{"lqsb", instance, "data"};
    if (producer_) {
      iox::popo::PublisherOptions o;
      o.historyCapacity = 0;
      o.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
      pub_ = std::make_unique<iox::popo::UntypedPublisher>(service, o);
      // Sends before the subscription is seen would be dropped: wait for it (10 s at most).
      for (int i = 0; i < 10'000 && !pub_->hasSubscribers(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (!pub_->hasSubscribers()) {
        err = "iceoryx: no subscriber after 10 s";
        return false;
      }
    } else {
      iox::popo::SubscriberOptions o;
      o.queueCapacity = 256;
      o.historyRequest = 0;
      o.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
      sub_ = std::make_unique<iox::popo::UntypedSubscriber>(service, o);
      ws_ = std::make_unique<iox::popo::WaitSet<>>();
      if (ws_->attachState(*sub_, iox::popo::SubscriberState::HAS_DATA).has_error()) {
        err = "iceoryx: WaitSet attachState failed";
        return false;
      }
    }
    return true;
  }

  ~IceoryxPort() {
    if (ws_ && sub_) {
      ws_->detachState(*sub_, iox::popo::SubscriberState::HAS_DATA);
    }
    ws_.reset();
    sub_.reset();
    pub_.reset();
  }
  IceoryxPort() = default;
  IceoryxPort(const IceoryxPort&) = delete;
  IceoryxPort& operator=(const IceoryxPort&) = delete;

  SendStatus send_one(std::string_view body, std::string& err) {
    auto loan = pub_->loan(static_cast<uint32_t>(body.size()));
    if (loan.has_error()) {
      if (loan.get_error() == iox::popo::AllocationError::RUNNING_OUT_OF_CHUNKS ||
          loan.get_error() == iox::popo::AllocationError::TOO_MANY_CHUNKS_ALLOCATED_IN_PARALLEL) {
        return SendStatus::kFull;
      }
      err = "iceoryx loan of " + std::to_string(body.size()) + " bytes failed (error " +
            std::to_string(static_cast<int>(loan.get_error())) + ")";
      return SendStatus::kError;
    }
    std::memcpy(loan.value(), body.data(), body.size());
    pub_->publish(loan.value());
    return SendStatus::kOk;
  }

  template <typename OnMsg>
  int receive(int max, int wait_s, bool /*batch_delete*/, OnMsg&& on_msg, std::string& /*err*/) {
    int n = 0;
    while (n < max) {
      bool got = false;
      sub_->take().and_then([&](const void* payload) {
        const auto* h = iox::mepoo::ChunkHeader::fromUserPayload(payload);
        on_msg(std::string_view(static_cast<const char*>(payload), h->userPayloadSize()));
        sub_->release(payload);
        got = true;
      });
      if (got) {
        ++n;
        continue;
      }
      if (n == 0 && wait_s > 0 && !waited_) {
        (void)ws_->timedWait(iox::units::Duration::fromMilliseconds(100));
        waited_ = true;
        continue;
      }
      break;
    }
    waited_ = false;
    return n;
  }

 private:
  bool producer_ = false;
  bool waited_ = false;
  std::unique_ptr<iox::popo::UntypedPublisher> pub_;
  std::unique_ptr<iox::popo::UntypedSubscriber> sub_;
  std::unique_ptr<iox::popo::WaitSet<>> ws_;
};

}  // namespace lqs::bench

#endif  // LQS_BENCH_IPC_ICEORYX_PORT_HPP_
