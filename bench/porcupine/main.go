// Command porcupine-bench checks one history file with Porcupine, for the peer benchmarks of
// weft (issue 14): `porcupine-bench cas-register FILE` (a Jepsen etcd log) or
// `porcupine-bench kv FILE` (the EDN key/value histories). It prints one JSON object: the
// verdict, the number of operations, and the time spent in Porcupine's check alone.
//
// Histories are read as weft's `check-history` reads them (see the data's README): a Jepsen
// `:info` operation never returns (its return event goes after every other event) and its
// output is unknown; a failed compare-and-set returned false.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Register operations of the etcd histories.
const (
	opRead = iota
	opWrite
	opCas
)

type regInput struct {
	op       int
	from, to int // write: to; cas: from, to
}

// regOutput: a read's value (nil is -1), a cas's success; unknown for :info and timed-out reads.
type regOutput struct {
	value   int
	ok      bool
	unknown bool
}

const nilValue = -1

var casRegister = porcupine.Model{
	Init: func() interface{} { return nilValue },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st, in, out := state.(int), input.(regInput), output.(regOutput)
		switch in.op {
		case opRead:
			return out.unknown || out.value == st, st
		case opWrite:
			return true, in.to
		default:
			matches := in.from == st
			next := st
			if matches {
				next = in.to
			}
			return out.unknown || out.ok == matches, next
		}
	},
	Equal: func(a, b interface{}) bool { return a.(int) == b.(int) },
	Hash:  func(state interface{}) uint64 { return uint64(state.(int)) * 0x9E3779B97F4A7C15 },
}

func parseValue(s string) int {
	s = strings.Trim(s, "[]")
	if s == "nil" {
		return nilValue
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		fail(fmt.Errorf("bad value %q", s))
	}
	return n
}

// readEtcd reads a Jepsen etcd log into call and return events.
func readEtcd(path string) []porcupine.Event {
	file, err := os.Open(path)
	if err != nil {
		fail(err)
	}
	defer file.Close()
	var events, unfinished []porcupine.Event
	open := map[int]int{} // process -> id of its operation in flight
	inputs := map[int]regInput{}
	next := 0
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		f := strings.Fields(scanner.Text())
		if len(f) < 7 || f[2] != "-" {
			continue
		}
		process, err := strconv.Atoi(f[3])
		if err != nil {
			continue
		}
		kind, op := f[4], f[5]
		switch kind {
		case ":invoke":
			in := regInput{}
			switch op {
			case ":read":
				in.op = opRead
			case ":write":
				in.op, in.to = opWrite, parseValue(f[6])
			case ":cas":
				in.op, in.from, in.to = opCas, parseValue(f[6]), parseValue(f[7])
			default:
				continue
			}
			id := next
			next++
			open[process], inputs[id] = id, in
			events = append(events, porcupine.Event{ClientId: process, Kind: porcupine.CallEvent, Value: in, Id: id})
		case ":ok", ":fail", ":info":
			id, found := open[process]
			if !found {
				continue
			}
			delete(open, process)
			out := regOutput{}
			switch {
			case kind == ":info" || f[6] == ":timed-out":
				out.unknown = true
			case inputs[id].op == opRead:
				out.value = parseValue(f[6])
			default:
				out.ok = kind == ":ok"
			}
			ev := porcupine.Event{ClientId: process, Kind: porcupine.ReturnEvent, Value: out, Id: id}
			if kind == ":info" {
				unfinished = append(unfinished, ev)
			} else {
				events = append(events, ev)
			}
		}
	}
	if err := scanner.Err(); err != nil {
		fail(err)
	}
	for process, id := range open {
		unfinished = append(unfinished, porcupine.Event{ClientId: process, Kind: porcupine.ReturnEvent, Value: regOutput{unknown: true}, Id: id})
	}
	return append(events, unfinished...)
}

type kvInput struct {
	op         string // get, put, append
	key, value string
}

var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(kvInput).key
			if _, seen := byKey[k]; !seen {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		parts := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, byKey[k])
		}
		return parts
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st, in := state.(string), input.(kvInput)
		switch in.op {
		case "get":
			return output.(string) == st, st
		case "put":
			return true, in.value
		default:
			return true, st + in.value
		}
	},
	Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
	Hash: func(state interface{}) uint64 {
		h := fnv.New64a()
		h.Write([]byte(state.(string)))
		return h.Sum64()
	},
}

var ednLine = regexp.MustCompile(`^\{:process (\d+), :type :(\w+), :f :(\w+), :key "([^"]*)", :value (nil|"[^"]*")\}$`)

// readKv reads an EDN key/value history into operations (timestamps: line numbers).
func readKv(path string) []porcupine.Operation {
	file, err := os.Open(path)
	if err != nil {
		fail(err)
	}
	defer file.Close()
	var ops []porcupine.Operation
	open := map[int]int{} // process -> index in ops
	scanner := bufio.NewScanner(file)
	for line := int64(0); scanner.Scan(); line++ {
		m := ednLine.FindStringSubmatch(strings.TrimSpace(scanner.Text()))
		if m == nil {
			continue
		}
		process, _ := strconv.Atoi(m[1])
		value := strings.Trim(m[5], "\"")
		if m[5] == "nil" {
			value = ""
		}
		switch m[2] {
		case "invoke":
			open[process] = len(ops)
			ops = append(ops, porcupine.Operation{ClientId: process, Input: kvInput{m[3], m[4], value}, Call: line})
		case "ok":
			i := open[process]
			ops[i].Output, ops[i].Return = value, line
		}
	}
	if err := scanner.Err(); err != nil {
		fail(err)
	}
	return ops
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "porcupine-bench:", err)
	os.Exit(2)
}

func main() {
	if len(os.Args) != 3 {
		fail(fmt.Errorf("usage: porcupine-bench cas-register|kv FILE"))
	}
	var result porcupine.CheckResult
	var ops int
	var elapsed time.Duration
	switch os.Args[1] {
	case "cas-register":
		events := readEtcd(os.Args[2])
		ops = len(events) / 2
		started := time.Now()
		result = porcupine.CheckEventsTimeout(casRegister, events, 0)
		elapsed = time.Since(started)
	case "kv":
		history := readKv(os.Args[2])
		ops = len(history)
		started := time.Now()
		result = porcupine.CheckOperationsTimeout(kvModel, history, 0)
		elapsed = time.Since(started)
	default:
		fail(fmt.Errorf("unknown model %q", os.Args[1]))
	}
	verdict := map[porcupine.CheckResult]string{porcupine.Ok: "linearizable", porcupine.Illegal: "not-linearizable", porcupine.Unknown: "unknown"}[result]
	out, _ := json.Marshal(map[string]interface{}{
		"file": os.Args[2], "verdict": verdict, "operations": ops,
		"check_ms": float64(elapsed.Nanoseconds()) / 1e6,
	})
	fmt.Println(string(out))
}
