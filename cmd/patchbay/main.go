package main
import (
 _ "github.com/emiago/sipgo"
 _ "github.com/pion/rtp"
 _ "github.com/pion/sdp/v3"
 _ "github.com/tetratelabs/wazero"
 _ "github.com/dgraph-io/badger/v4"
 _ "github.com/gofiber/fiber/v2"
 _ "github.com/zaf/g711"
 _ "github.com/icholy/digest"
)
func main(){}
