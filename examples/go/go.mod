module example.com/vfiolookup

go 1.19
