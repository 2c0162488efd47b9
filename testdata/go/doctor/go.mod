module doctor

go 1.19
