// Package flowlog holds the VPC flow-log record model: the registry of every field
// AWS defines (versions 2 to 11 and the transit-gateway fields), format strings and
// header lines, and a fast, allocation-free line parser and writer.
//
// It sits at the bottom of flowlens: sources hand it bytes, and ingest, the lake and
// the generator consume its Records. It imports only the standard library.
//
// Main types: Field (one registry entry), Format (an ordered list of fields, parsed
// from a `${field}` string or a header line), Parser (turns a line into a Record) and
// Record (one typed flow-log record whose strings point into the parsed line).
package flowlog

import (
	"fmt"
	"math"
	"strings"
)

// FieldID names a field of the registry. IDs are stable only within one build;
// persist field names, never IDs.
type FieldID uint8

// Type is a field's value type, following AWS's Parquet delivery.
type Type uint8

const (
	// String is text (VARCHAR).
	String Type = iota
	// Int32 is a 32-bit integer (INTEGER).
	Int32
	// Int64 is a 64-bit integer (BIGINT).
	Int64
	// IP is an IPv4 or IPv6 address; it is text in SQL.
	IP
)

// SQL returns the SQL type of the field in the vpc_flow_logs view.
func (t Type) SQL() string {
	switch t {
	case Int32:
		return "INTEGER"
	case Int64:
		return "BIGINT"
	}
	return "VARCHAR"
}

func (t Type) String() string {
	switch t {
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case IP:
		return "ip"
	}
	return "string"
}

// Field describes one flow-log field.
type Field struct {
	ID          FieldID
	Name        string // AWS name, as in format strings: "log-status"
	Column      string // SQL and Parquet column: "log_status"
	Insights    string // CloudWatch Logs Insights name: "logStatus"
	Version     int    // flow-log version that introduced it; 6 for transit-gateway fields
	Type        Type
	Description string
	// Tags marks fields whose values AWS percent-encodes (v11 tag fields).
	Tags bool
	// Min and Max are the legal values of an integer field, from AWS's
	// documentation of the field (both 0 for fields without one, which
	// take their type's range). A line with a value outside them is not a
	// record: the parser reports it. start and end are Unix seconds, or
	// milliseconds that the parser turns into seconds.
	Min, Max int64
}

// HasRange reports whether the field has a legal range of its own, narrower
// than its type's.
func (f *Field) HasRange() bool { return f.Min != 0 || f.Max != 0 }

// RangeText describes the field's legal values: "0–65535", "0 or more".
func (f *Field) RangeText() string {
	if f.Max == math.MaxInt64 {
		return fmt.Sprintf("%d or more", f.Min)
	}
	return fmt.Sprintf("%d–%d", f.Min, f.Max)
}

// The fields of the registry. The order is AWS's documented order, version by version.
const (
	Version FieldID = iota
	AccountID
	InterfaceID
	SrcAddr
	DstAddr
	SrcPort
	DstPort
	Protocol
	Packets
	Bytes
	Start
	End
	Action
	LogStatus
	VPCID
	SubnetID
	InstanceID
	TCPFlags
	TrafficType
	PktSrcAddr
	PktDstAddr
	Region
	AZID
	SublocationType
	SublocationID
	PktSrcAWSService
	PktDstAWSService
	FlowDirection
	TrafficPath
	ResourceType
	TGWID
	TGWAttachmentID
	TGWSrcVPCAccountID
	TGWDstVPCAccountID
	TGWSrcVPCID
	TGWDstVPCID
	TGWSrcSubnetID
	TGWDstSubnetID
	TGWSrcENI
	TGWDstENI
	TGWSrcAZID
	TGWDstAZID
	TGWPairAttachmentID
	PacketsLostNoRoute
	PacketsLostBlackhole
	PacketsLostMTUExceeded
	PacketsLostTTLExpired
	ECSClusterARN
	ECSClusterName
	ECSContainerInstanceARN
	ECSContainerInstanceID
	ECSContainerID
	ECSSecondContainerID
	ECSServiceName
	ECSTaskDefinitionARN
	ECSTaskARN
	ECSTaskID
	RejectReason
	ResourceID
	EncryptionStatus
	SrcTags
	DstTags

	// NumFields is the number of registered fields.
	NumFields int = iota
)

// Unknown is the FieldID of a format field that is not in the registry; such
// fields are kept as strings under their own name.
const Unknown FieldID = 255

var registry = [NumFields]Field{
	{Name: "version", Version: 2, Type: Int32, Description: "flow-log version: 2 for the default format, else the highest version among the format's fields", Min: 2, Max: 11},
	{Name: "account-id", Insights: "accountId", Version: 2, Description: "AWS account that owns the source network interface"},
	{Name: "interface-id", Insights: "interfaceId", Version: 2, Description: "network interface (ENI) the traffic was recorded on"},
	{Name: "srcaddr", Insights: "srcAddr", Version: 2, Type: IP, Description: "source address (the interface's private IP for outgoing traffic)"},
	{Name: "dstaddr", Insights: "dstAddr", Version: 2, Type: IP, Description: "destination address (the interface's private IP for incoming traffic)"},
	{Name: "srcport", Insights: "srcPort", Version: 2, Type: Int32, Description: "source port", Min: 0, Max: 65535},
	{Name: "dstport", Insights: "dstPort", Version: 2, Type: Int32, Description: "destination port", Min: 0, Max: 65535},
	{Name: "protocol", Version: 2, Type: Int32, Description: "IANA protocol number (6 TCP, 17 UDP, 1 ICMP)", Min: 0, Max: 255},
	{Name: "packets", Version: 2, Type: Int64, Description: "packets transferred during the flow", Min: 0, Max: math.MaxInt64},
	{Name: "bytes", Version: 2, Type: Int64, Description: "bytes transferred during the flow", Min: 0, Max: math.MaxInt64},
	{Name: "start", Insights: "startTime", Version: 2, Type: Int64, Description: "Unix seconds of the first packet in the aggregation interval", Min: 0, Max: maxTime},
	{Name: "end", Insights: "endTime", Version: 2, Type: Int64, Description: "Unix seconds of the last packet in the aggregation interval", Min: 0, Max: maxTime},
	{Name: "action", Version: 2, Description: "ACCEPT or REJECT by security groups and network ACLs"},
	{Name: "log-status", Insights: "logStatus", Version: 2, Description: "OK, NODATA (no traffic in the interval) or SKIPDATA (records skipped)"},
	{Name: "vpc-id", Insights: "vpcId", Version: 3, Description: "VPC of the network interface"},
	{Name: "subnet-id", Insights: "subnetId", Version: 3, Description: "subnet of the network interface"},
	{Name: "instance-id", Insights: "instanceId", Version: 3, Description: "instance of the interface, if you own it; - for requester-managed interfaces"},
	{Name: "tcp-flags", Insights: "tcpFlags", Version: 3, Type: Int32, Description: "OR of the TCP flags seen in the interval: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32", Min: 0, Max: 255},
	{Name: "type", Version: 3, Description: "traffic type: IPv4, IPv6 or EFA"},
	{Name: "pkt-srcaddr", Insights: "pktSrcAddr", Version: 3, Type: IP, Description: "packet-level (original) source address, before NAT or load balancing"},
	{Name: "pkt-dstaddr", Insights: "pktDstAddr", Version: 3, Type: IP, Description: "packet-level (original) destination address"},
	{Name: "region", Version: 4, Description: "Region of the network interface"},
	{Name: "az-id", Insights: "azId", Version: 4, Description: "Availability Zone ID of the network interface"},
	{Name: "sublocation-type", Insights: "sublocationType", Version: 4, Description: "wavelength, outpost or localzone"},
	{Name: "sublocation-id", Insights: "sublocationId", Version: 4, Description: "ID of the sublocation of the interface"},
	{Name: "pkt-src-aws-service", Insights: "pktSrcAwsService", Version: 5, Description: "AWS service (ip-ranges subset) of pkt-srcaddr, such as S3 or EC2"},
	{Name: "pkt-dst-aws-service", Insights: "pktDstAwsService", Version: 5, Description: "AWS service (ip-ranges subset) of pkt-dstaddr"},
	{Name: "flow-direction", Insights: "flowDirection", Version: 5, Description: "ingress or egress, relative to the interface"},
	{Name: "traffic-path", Insights: "trafficPath", Version: 5, Type: Int32, Description: "egress path: 1 same VPC, 2 internet or VPC endpoint gateway, 3 VGW, 4 intra-Region peering, 5 inter-Region peering, 6 local gateway, 7 endpoint, 8 internet gateway", Min: 1, Max: 8},
	{Name: "resource-type", Insights: "resourceType", Version: 6, Description: "transit gateway: resource type (TransitGateway)"},
	{Name: "tgw-id", Insights: "tgwId", Version: 6, Description: "transit gateway ID"},
	{Name: "tgw-attachment-id", Insights: "tgwAttachmentId", Version: 6, Description: "transit gateway attachment ID"},
	{Name: "tgw-src-vpc-account-id", Insights: "tgwSrcVpcAccountId", Version: 6, Description: "account of the source VPC"},
	{Name: "tgw-dst-vpc-account-id", Insights: "tgwDstVpcAccountId", Version: 6, Description: "account of the destination VPC"},
	{Name: "tgw-src-vpc-id", Insights: "tgwSrcVpcId", Version: 6, Description: "source VPC"},
	{Name: "tgw-dst-vpc-id", Insights: "tgwDstVpcId", Version: 6, Description: "destination VPC"},
	{Name: "tgw-src-subnet-id", Insights: "tgwSrcSubnetId", Version: 6, Description: "source subnet"},
	{Name: "tgw-dst-subnet-id", Insights: "tgwDstSubnetId", Version: 6, Description: "destination subnet"},
	{Name: "tgw-src-eni", Insights: "tgwSrcEni", Version: 6, Description: "source transit gateway attachment ENI"},
	{Name: "tgw-dst-eni", Insights: "tgwDstEni", Version: 6, Description: "destination transit gateway attachment ENI"},
	{Name: "tgw-src-az-id", Insights: "tgwSrcAzId", Version: 6, Description: "Availability Zone of the source attachment"},
	{Name: "tgw-dst-az-id", Insights: "tgwDstAzId", Version: 6, Description: "Availability Zone of the destination attachment"},
	{Name: "tgw-pair-attachment-id", Insights: "tgwPairAttachmentId", Version: 6, Description: "the peer attachment of the flow"},
	{Name: "packets-lost-no-route", Insights: "packetsLostNoRoute", Version: 6, Type: Int64, Description: "packets dropped for lack of a route", Min: 0, Max: math.MaxInt64},
	{Name: "packets-lost-blackhole", Insights: "packetsLostBlackhole", Version: 6, Type: Int64, Description: "packets dropped by a blackhole route", Min: 0, Max: math.MaxInt64},
	{Name: "packets-lost-mtu-exceeded", Insights: "packetsLostMtuExceeded", Version: 6, Type: Int64, Description: "packets dropped for exceeding the MTU", Min: 0, Max: math.MaxInt64},
	{Name: "packets-lost-ttl-expired", Insights: "packetsLostTtlExpired", Version: 6, Type: Int64, Description: "packets dropped because the TTL expired", Min: 0, Max: math.MaxInt64},
	{Name: "ecs-cluster-arn", Insights: "ecsClusterArn", Version: 7, Description: "ARN of the ECS cluster of the task"},
	{Name: "ecs-cluster-name", Insights: "ecsClusterName", Version: 7, Description: "name of the ECS cluster"},
	{Name: "ecs-container-instance-arn", Insights: "ecsContainerInstanceArn", Version: 7, Description: "ARN of the ECS container instance (EC2 launch type)"},
	{Name: "ecs-container-instance-id", Insights: "ecsContainerInstanceId", Version: 7, Description: "ID of the ECS container instance"},
	{Name: "ecs-container-id", Insights: "ecsContainerId", Version: 7, Description: "Docker ID of the first container of the task"},
	{Name: "ecs-second-container-id", Insights: "ecsSecondContainerId", Version: 7, Description: "Docker ID of the second container of the task"},
	{Name: "ecs-service-name", Insights: "ecsServiceName", Version: 7, Description: "ECS service of the task"},
	{Name: "ecs-task-definition-arn", Insights: "ecsTaskDefinitionArn", Version: 7, Description: "task definition ARN"},
	{Name: "ecs-task-arn", Insights: "ecsTaskArn", Version: 7, Description: "task ARN"},
	{Name: "ecs-task-id", Insights: "ecsTaskId", Version: 7, Description: "task ID"},
	{Name: "reject-reason", Insights: "rejectReason", Version: 8, Description: "why traffic was rejected, such as BPA (VPC Block Public Access)"},
	{Name: "resource-id", Insights: "resourceId", Version: 9, Description: "resource the traffic passed through, such as a regional NAT gateway"},
	{Name: "encryption-status", Insights: "encryptionStatus", Version: 10, Type: Int32, Description: "VPC encryption controls: 0 not encrypted, 1 Nitro-encrypted, 2 application-encrypted, 3 both", Min: 0, Max: 3},
	{Name: "src-tags", Insights: "srcTags", Version: 11, Tags: true, Description: "resource tags of the source, percent-encoded key=value pairs"},
	{Name: "dst-tags", Insights: "dstTags", Version: 11, Tags: true, Description: "resource tags of the destination, percent-encoded key=value pairs"},
}

// aliases maps names users copy from guides to AWS fields, with the note shown to them.
var aliases = map[string]FieldID{
	"windowstart":     Start,
	"windowend":       End,
	"flow-log-status": LogStatus,
	"flowlogstatus":   LogStatus,
	"starttime":       Start,
	"endtime":         End,
}

// byKey indexes the registry by folded name. Building it also completes the
// registry entries, before any package variable (such as defaultFormat) uses them.
var byKey = buildIndex()

func buildIndex() map[string]FieldID {
	byKey := map[string]FieldID{}
	for i := range registry {
		f := &registry[i]
		f.ID = FieldID(i)
		f.Column = strings.ReplaceAll(f.Name, "-", "_")
		if f.Insights == "" {
			f.Insights = f.Name
		}
		byKey[key(f.Name)] = f.ID
		byKey[key(f.Insights)] = f.ID
	}
	for name, id := range aliases {
		byKey[key(name)] = id
	}
	return byKey
}

// key folds a name for lookup: lower case, without '-' and '_'.
func key(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Fields returns every registered field in AWS's documented order.
func Fields() []Field { return registry[:] }

// FieldByID returns the registry entry of id, which must be a registered field.
func FieldByID(id FieldID) *Field { return &registry[id] }

// Lookup finds a field by its AWS name, column name, Insights name or alias,
// ignoring case, '-' and '_' ("srcAddr" = "srcaddr", "log_status" = "log-status").
func Lookup(name string) (*Field, bool) {
	id, ok := byKey[key(name)]
	if !ok {
		return nil, false
	}
	return &registry[id], true
}

// Alias reports whether name is an alias rather than the field's own name, and
// returns the AWS field it stands for.
func Alias(name string) (*Field, bool) {
	id, ok := aliases[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return &registry[id], true
}

// DefaultFormat is the AWS default format: the version 2 fields in order.
const DefaultFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
