module goroscope.test/syscount

go 1.19
