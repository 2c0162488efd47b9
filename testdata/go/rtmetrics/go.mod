module goroscope.test/rtmetrics

go 1.19
