// Copyright lqs authors. Umbrella header.
#ifndef LQS_LQS_HPP_
#define LQS_LQS_HPP_

#include "lqs/clock.hpp"
#include "lqs/message.hpp"
#include "lqs/queue.hpp"
#include "lqs/queue_attributes.hpp"
#include "lqs/result.hpp"

#endif  // LQS_LQS_HPP_
