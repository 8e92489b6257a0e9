// Sends in flight per number, shared by all workers: row 10 of SPEC §6.2
// must count the sends Meta may still accept, or concurrent replies in
// different workers could together spend more than the number's credits.
#pragma once

#include "base/result.hpp"
#include "domain/numbers.hpp"
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
    ~CreditHold();
    CreditHold(const CreditHold&) = delete;
    CreditHold& operator=(const CreditHold&) = delete;

private:
    friend Result<std::shared_ptr<CreditHold>> credit_take(const NumberConfig&, std::size_t);
    explicit CreditHold(std::size_t number_index);
    std::size_t number_;
    bool counted_ = false;  // in the zone: from take_credit's hold()
};

// One of the number's credits (it has credits) for a send about to be
// made: a hold, or none when the store's count and the sends in flight in
// every worker use them all. An error when the store cannot be read.
Result<std::shared_ptr<CreditHold>> credit_take(const NumberConfig& number,
                                                std::size_t number_index);

}  // namespace wa::ngx
