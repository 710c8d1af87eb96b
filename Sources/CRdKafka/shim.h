// The one C door to librdkafka (Debian's librdkafka-dev). Only KafkaLog imports this module.
#pragma once
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
