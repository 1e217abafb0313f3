package gen

import (
	"net/netip"

	"github.com/flowlens/flowlens/flowlog"
)

// Record actions and log statuses.
const (
	actAccept uint8 = iota + 1
	actReject
)

const (
	statusOK uint8 = iota
	statusNoData
	statusSkipData
)

// AWS service names of pkt-src-aws-service and pkt-dst-aws-service.
const (
	svcNone uint8 = iota
	svcS3
	svcDynamoDB
	svcAmazon
	svcEC2
)

var svcNames = [...]string{"", "S3", "DYNAMODB", "AMAZON", "EC2"}

// Traffic paths of egress records.
const (
	pathSameVPC         uint8 = 1
	pathIntraRegionPeer uint8 = 4
	pathInterRegionPeer uint8 = 5
	pathGatewayEndpoint uint8 = 7
	pathInternetGateway uint8 = 8
)

// TCP flags as flow logs OR them over an aggregation interval.
const (
	flagFIN = 1
	flagSYN = 2
	flagRST = 4
	flagPSH = 8
	flagACK = 16

	flagsProbe    = flagSYN                               // 2: a SYN that got no answer
	flagsSynAck   = flagSYN | flagACK                     // 18
	flagsSession  = flagSYN | flagACK | flagFIN           // 19: a complete short session
	flagsDataSess = flagSYN | flagACK | flagFIN | flagPSH // 27: a complete session with data
	flagsOpening  = flagSYN | flagACK | flagPSH           // 26: first interval of a long session
	flagsMiddle   = flagACK | flagPSH                     // 24: middle intervals
	flagsClosing  = flagACK | flagPSH | flagFIN           // 25: last interval
	flagsRefused  = flagRST | flagACK                     // 20: a closed port answering
	noFlags       = -1                                    // not TCP
)

// Protocols.
const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
)

// flow is one flow-log record before it is written: the traffic of one 5-tuple
// seen on one interface during one aggregation interval.
type flow struct {
	h                *host
	start, end       int64
	src, dst         netip.Addr
	pktSrc, pktDst   netip.Addr // zero when equal to src and dst
	packets, bytes   int64
	srcPort, dstPort uint16
	proto            uint8
	action           uint8
	status           uint8
	egress           bool
	path             uint8 // 0: none (ingress records)
	srcSvc, dstSvc   uint8
	flags            int16
}

// fill sets r to the record f describes, with every field the generator knows;
// Format.Append then writes the ones the format has.
func (f *flow) fill(r *flowlog.Record, version int64) {
	r.Reset()
	h := f.h
	v := h.vpc
	r.SetInt(flowlog.Version, version)
	r.SetString(flowlog.AccountID, v.account)
	r.SetString(flowlog.InterfaceID, h.eni)
	r.SetInt(flowlog.Start, f.start)
	r.SetInt(flowlog.End, f.end)
	r.SetString(flowlog.VPCID, v.id)
	r.SetString(flowlog.SubnetID, h.subnet)
	if h.instance != "" {
		r.SetString(flowlog.InstanceID, h.instance)
	}
	r.SetString(flowlog.Region, v.region)
	r.SetString(flowlog.AZID, h.az)
	if e := h.ecs; e != nil {
		r.SetString(flowlog.ECSClusterARN, e.clusterARN)
		r.SetString(flowlog.ECSClusterName, e.clusterName)
		r.SetString(flowlog.ECSContainerID, e.containerID)
		r.SetString(flowlog.ECSSecondContainerID, e.secondContainerID)
		r.SetString(flowlog.ECSServiceName, e.serviceName)
		r.SetString(flowlog.ECSTaskDefinitionARN, e.taskDefinitionARN)
		r.SetString(flowlog.ECSTaskARN, e.taskARN)
		r.SetString(flowlog.ECSTaskID, e.taskID)
	}
	switch f.status {
	case statusNoData:
		r.SetString(flowlog.LogStatus, "NODATA")
		return
	case statusSkipData:
		r.SetString(flowlog.LogStatus, "SKIPDATA")
		return
	}
	r.SetString(flowlog.LogStatus, "OK")
	r.SetAddr(flowlog.SrcAddr, f.src)
	r.SetAddr(flowlog.DstAddr, f.dst)
	r.SetInt(flowlog.SrcPort, int64(f.srcPort))
	r.SetInt(flowlog.DstPort, int64(f.dstPort))
	r.SetInt(flowlog.Protocol, int64(f.proto))
	r.SetInt(flowlog.Packets, f.packets)
	r.SetInt(flowlog.Bytes, f.bytes)
	if f.action == actReject {
		r.SetString(flowlog.Action, "REJECT")
	} else {
		r.SetString(flowlog.Action, "ACCEPT")
	}
	if f.flags >= 0 {
		r.SetInt(flowlog.TCPFlags, int64(f.flags))
	} else {
		r.SetInt(flowlog.TCPFlags, 0)
	}
	r.SetString(flowlog.TrafficType, "IPv4")
	ps, pd := f.src, f.dst
	if f.pktSrc.IsValid() {
		ps = f.pktSrc
	}
	if f.pktDst.IsValid() {
		pd = f.pktDst
	}
	r.SetAddr(flowlog.PktSrcAddr, ps)
	r.SetAddr(flowlog.PktDstAddr, pd)
	if f.srcSvc != svcNone {
		r.SetString(flowlog.PktSrcAWSService, svcNames[f.srcSvc])
	}
	if f.dstSvc != svcNone {
		r.SetString(flowlog.PktDstAWSService, svcNames[f.dstSvc])
	}
	if f.egress {
		r.SetString(flowlog.FlowDirection, "egress")
		if f.path != 0 {
			r.SetInt(flowlog.TrafficPath, int64(f.path))
		}
	} else {
		r.SetString(flowlog.FlowDirection, "ingress")
	}
}

// endpoint is one side of a conversation: one of our interfaces, or an outside address.
type endpoint struct {
	h   *host
	ip  netip.Addr
	svc uint8 // AWS service of an outside address
}

func ours(h *host) endpoint { return endpoint{h: h, ip: h.ip} }

func outside(a netip.Addr, svc uint8) endpoint { return endpoint{ip: a, svc: svc} }

// conv is one conversation: a initiates to b. Each of our interfaces it crosses
// records both directions, as AWS does.
type conv struct {
	a, b            endpoint
	sport, dport    uint16
	proto           uint8
	start, end      int64
	pktsAB, bytesAB int64
	pktsBA, bytesBA int64
	flagsA, flagsB  int16
	reject          bool  // b's security group rejected it: b never answers
	nat             *host // NAT gateway between a (private) and b (outside)
	endpointGW      bool  // b is reached through a gateway VPC endpoint
}

// pathTo is the traffic path of an egress record from h to dst.
func pathTo(h *host, dst endpoint, endpointGW bool) uint8 {
	if dst.h == nil && h.vpc.cidr.Contains(dst.ip) {
		return pathSameVPC // an unused address of the VPC
	}
	if dst.h != nil {
		switch {
		case dst.h.vpc == h.vpc:
			return pathSameVPC
		case dst.h.vpc.region == h.vpc.region:
			return pathIntraRegionPeer
		default:
			return pathInterRegionPeer
		}
	}
	if endpointGW {
		return pathGatewayEndpoint
	}
	return pathInternetGateway
}

// emit appends the records of c to out.
func (c *conv) emit(out []flow) []flow {
	base := flow{start: c.start, end: c.end, proto: c.proto, srcPort: c.sport, dstPort: c.dport}
	ab := base
	ab.src, ab.dst, ab.packets, ab.bytes, ab.flags = c.a.ip, c.b.ip, c.pktsAB, c.bytesAB, c.flagsA
	ab.dstSvc = c.b.svc
	ba := base
	ba.src, ba.dst, ba.srcPort, ba.dstPort = c.b.ip, c.a.ip, c.dport, c.sport
	ba.packets, ba.bytes, ba.flags, ba.srcSvc = c.pktsBA, c.bytesBA, c.flagsB, c.b.svc
	answered := !c.reject

	if c.nat != nil {
		n := c.nat
		if c.a.h != nil {
			f := ab
			f.h, f.egress, f.path, f.action = c.a.h, true, pathSameVPC, actAccept
			out = append(out, f)
			if answered {
				f = ba
				f.h, f.action = c.a.h, actAccept
				out = append(out, f)
			}
		}
		// The NAT gateway's interface sees four legs: in from the instance, out to
		// the internet from its own address, and the same back.
		f := ab
		f.h, f.dst, f.pktDst, f.action = n, n.ip, c.b.ip, actAccept
		out = append(out, f)
		f = ab
		f.h, f.src, f.egress, f.path, f.action = n, n.ip, true, pathInternetGateway, actAccept
		out = append(out, f)
		if answered {
			f = ba
			f.h, f.dst, f.action = n, n.ip, actAccept
			out = append(out, f)
			f = ba
			f.h, f.src, f.pktSrc, f.egress, f.path, f.action = n, n.ip, c.b.ip, true, pathSameVPC, actAccept
			f.srcSvc = c.b.svc
			out = append(out, f)
		}
		return out
	}
	if c.a.h != nil {
		f := ab
		f.h, f.egress, f.path, f.action = c.a.h, true, pathTo(c.a.h, c.b, c.endpointGW), actAccept
		out = append(out, f)
		if answered {
			f = ba
			f.h, f.action = c.a.h, actAccept
			out = append(out, f)
		}
	}
	if c.b.h != nil {
		f := ab
		f.h, f.action = c.b.h, actAccept
		if c.reject {
			f.action = actReject
		}
		out = append(out, f)
		if answered {
			f = ba
			f.h, f.egress, f.path, f.action = c.b.h, true, pathTo(c.b.h, c.a, false), actAccept
			out = append(out, f)
		}
	}
	return out
}

// statusRecord is a NODATA or SKIPDATA record of interface h for one interval.
func statusRecord(h *host, start, end int64, status uint8) flow {
	return flow{h: h, start: start, end: end, status: status}
}
