// Copyright lqs authors. Replays a fuzz corpus through LLVMFuzzerTestOneInput as an ordinary
// test: `segment_attach_replay <dir>...`; exits non-zero if the directory holds no input.
// Every target's replay links this file (sqs_query_parse_replay too).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t n = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& e : std::filesystem::directory_iterator(argv[i])) {
      std::ifstream f(e.path(), std::ios::binary);
      std::vector<char> bytes((std::istreambuf_iterator<char>(f)),
                              std::istreambuf_iterator<char>());
      (void)LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++n;
    }
  }
  std::printf("replayed %zu inputs\n", n);
  // segment_attach_fuzz.cpp's scratch directory: leave nothing in /dev/shm (a no-op for the
  // targets that make none).
  std::error_code ec;
  std::filesystem::remove_all("/dev/shm/lqs-fuzz-" + std::to_string(::getpid()), ec);
  return n > 0 ? 0 : 1;
}
