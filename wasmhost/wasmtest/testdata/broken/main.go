// Command broken does not compile, so the Builder's failure path is real.
package main

func main() { undefined() }
