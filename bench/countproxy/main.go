// Command countproxy is a reverse proxy that counts the HTTP requests passing through
// it, so that benchmarks can report how many requests each client makes.
//
//	countproxy -listen 127.0.0.1:PORT -target http://127.0.0.1:5232
//
// GET /__count returns the number of requests since the last GET /__reset (control
// requests are not counted).
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	target := flag.String("target", "", "server to forward to")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		log.Fatalf("countproxy: -target must be a URL: %q", *target)
	}
	var n atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(u)
	http.HandleFunc("/__count", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, n.Load()) })
	http.HandleFunc("/__reset", func(w http.ResponseWriter, r *http.Request) { n.Store(0) })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		proxy.ServeHTTP(w, r)
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}
