// Errors are values: every fallible core call returns Result<T>; API code
// that needs more than a code and a message (an HTTP status, the offending
// field) uses Outcome<T, E> with its own error type.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace wa {

// A machine-readable code (stable, used in responses and metrics) and a
// human-readable message (for logs and error bodies).
struct Error {
    std::string code;
    std::string message;
};

template <class T, class E>
class [[nodiscard]] Outcome {
public:
    Outcome(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Outcome(E error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const E& error() const { return std::get<1>(v_); }

private:
    std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Outcome<void, E> {
public:
    Outcome() = default;
    Outcome(E error) : err_(std::move(error)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const E& error() const { return err_; }

private:
    E err_{};
    bool failed_ = false;
};

template <class T>
using Result = Outcome<T, Error>;

inline Error make_error(std::string code, std::string message) {
    return Error{std::move(code), std::move(message)};
}

}  // namespace wa
