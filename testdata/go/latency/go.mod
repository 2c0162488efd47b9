module goroscope.test/latency

go 1.19
