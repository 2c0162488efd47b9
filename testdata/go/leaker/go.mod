module goroscope.test/leaker

go 1.19
