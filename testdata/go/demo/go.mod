module goroscope.test/demo

go 1.19
