#include "event.hpp"

namespace pgstripe {

// Stripe's own lists (SPEC §3): https://docs.stripe.com/currencies
int currency_exponent(std::string_view c) {
    static constexpr std::string_view zero[] = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg",
                                                "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"};
    static constexpr std::string_view three[] = {"bhd", "jod", "kwd", "omr", "tnd"};
    for (auto z : zero)
        if (c == z) return 0;
    for (auto t : three)
        if (c == t) return 3;
    return 2;
}

}  // namespace pgstripe
