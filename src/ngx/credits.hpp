// Sends in flight per number, shared by all workers: row 10 of SPEC §6.2
// must count the sends Meta may still accept, or concurrent replies in
// different workers could together spend more than the number's credits.
#pragma once

#include "ngx.hpp"

#include <cstdint>
#include <memory>

namespace wa::ngx {

// From postconfiguration, when a number has credits.
ngx_int_t credits_add_zone(ngx_conf_t* cf);

// A worker clears its own slots when it starts: a killed predecessor's
// holds would otherwise stay counted.
void credits_init_process();

// One send in flight for a number; released when destroyed, which the
// caller arranges after the send's result is committed (or it failed).
class CreditHold {
public:
    explicit CreditHold(std::size_t number_index);
    ~CreditHold();
    CreditHold(const CreditHold&) = delete;
    CreditHold& operator=(const CreditHold&) = delete;

private:
    std::size_t number_;
};

// Sends of a number in flight in every worker.
std::uint64_t credits_in_flight(std::size_t number_index);

}  // namespace wa::ngx
