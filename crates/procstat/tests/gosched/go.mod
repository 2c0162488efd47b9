module goroscope.test/gosched

go 1.19
