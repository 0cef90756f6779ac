// Drives NasFetcher for the integration tests against real media servers:
//   nas_fetch_probe URL OUTFILE [FROM [TO]]
// writes the body to OUTFILE and prints "size total type" (exit 0), or prints
// "condition: text" (exit 2). Reads 64 KiB at a time, like the OOB sender.
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "bridge/loop/glib_integration.hpp"
#include "bridge/relay/nas_fetch.hpp"

using namespace xpmn;

int main(int argc, char** argv) {
    if (argc < 3 || argc > 5) {
        std::cerr << "usage: nas_fetch_probe URL OUTFILE [FROM [TO]]\n";
        return 64;
    }
    std::optional<relay::RangeSpec> range;
    if (argc >= 4) {
        range = relay::RangeSpec::from_to(std::stoull(argv[3]));
        if (argc == 5) range->last = std::stoull(argv[4]);
    }
    boost::asio::io_context io;
    loop::GlibIntegration glib(io);
    relay::NasFetcher fetcher;
    std::ofstream out(argv[2], std::ios::binary);
    int status = 1;
    relay::NasBody body;
    std::function<void()> pull = [&] {
        body.source->read(65536, [&](Result<std::string> r) {
            if (!r) {
                std::cout << r.error().describe() << "\n";
                status = 2;
                io.stop();
            } else if (r->empty()) {
                std::cout << body.size << " " << body.total << " " << body.type << "\n";
                status = 0;
                io.stop();
            } else {
                out.write(r->data(), static_cast<std::streamsize>(r->size()));
                pull();
            }
        });
    };
    fetcher.open(argv[1], range, [&](Result<relay::NasBody> r) {
        if (!r) {
            std::cout << r.error().describe() << "\n";
            status = 2;
            io.stop();
            return;
        }
        body = std::move(r.value());
        pull();
    });
    io.run();
    out.close();
    return out ? status : 1;
}
