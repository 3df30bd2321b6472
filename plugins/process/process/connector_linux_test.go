package process

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// procMsg builds one netlink message as the kernel's cn_proc sends it.
func procMsg(idx uint32, what uint32, data ...uint32) []byte {
	ne := binary.NativeEndian
	payload := make([]byte, cnMsgLen+procEventHdr+4*len(data))
	ne.PutUint32(payload[0:], idx)
	ne.PutUint32(payload[4:], cnValProc)
	ne.PutUint16(payload[16:], uint16(procEventHdr+4*len(data)))
	ev := payload[cnMsgLen:]
	ne.PutUint32(ev[0:], what)
	for i, v := range data {
		ne.PutUint32(ev[procEventHdr+4*i:], v)
	}
	msg := make([]byte, unix.NLMSG_HDRLEN+len(payload))
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.NLMSG_DONE)
	copy(msg[unix.NLMSG_HDRLEN:], payload)
	for len(msg)%4 != 0 {
		msg = append(msg, 0)
	}
	return msg
}

func TestParseProcEvents(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want []procEvent
	}{
		{"fork reports the child", procMsg(cnIdxProc, procEventFork, 1, 1, 200, 200), []procEvent{{procEventFork, 200, 200}}},
		{"thread creation keeps pid and tgid apart", procMsg(cnIdxProc, procEventFork, 1, 1, 201, 200), []procEvent{{procEventFork, 201, 200}}},
		{"exec", procMsg(cnIdxProc, procEventExec, 300, 300), []procEvent{{procEventExec, 300, 300}}},
		{"comm", procMsg(cnIdxProc, procEventComm, 301, 300, 0x6c6c6568, 0, 0, 0), []procEvent{{procEventComm, 301, 300}}},
		{"exit", procMsg(cnIdxProc, procEventExit, 400, 400, 9, 17, 1, 1), []procEvent{{procEventExit, 400, 400}}},
		{"uid change ignored", procMsg(cnIdxProc, 0x4, 1, 1, 0, 0), nil},
		{"other connector ignored", procMsg(7, procEventExec, 1, 1), nil},
		{"two messages in one datagram", append(procMsg(cnIdxProc, procEventExec, 5, 5), procMsg(cnIdxProc, procEventExit, 6, 6, 0, 0, 1, 1)...),
			[]procEvent{{procEventExec, 5, 5}, {procEventExit, 6, 6}}},
		{"truncated fork", procMsg(cnIdxProc, procEventFork, 1, 1), nil},
		{"garbage", []byte{1, 2, 3}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProcEvents(tt.b, nil)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
