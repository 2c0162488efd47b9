module goroscope.test/dwarfdump

go 1.21
