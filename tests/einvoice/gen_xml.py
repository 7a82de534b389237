"""XML fixtures: the 数电票 EInvoice data file, the older fp:eInvoice, and XBRL vouchers."""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

from bot.einvoice import InvoiceKind

from .specs import Line, Spec


def _rate_fraction(line: Line, style: str) -> str:
    if not line.rate.endswith("%"):
        return line.rate
    percent = Decimal(line.rate.rstrip("%"))
    if style == "percent":
        return line.rate
    if style == "long":
        return f"{percent / 100:.6f}"
    return f"{percent / 100:.2f}"


def _einvoice_line(line: Line, rate_style: str, detail: bool) -> str:
    body = (
        f"<ItemName>{escape(line.name)}</ItemName><SpecMod/><MeaUnits>{line.unit}</MeaUnits>"
        f"<Quantity>{line.quantity}</Quantity><UnPrice>{line.amount}</UnPrice>"
        f"<Amount>{line.amount}</Amount><TaxRate>{_rate_fraction(line, rate_style)}</TaxRate>"
        f"<{'TaxAm' if detail else 'ComTaxAm'}>{line.tax}</{'TaxAm' if detail else 'ComTaxAm'}>"
        f"<TotaltaxIncludedAmount>{line.amount + line.tax}</TotaltaxIncludedAmount>"
    )
    if detail:
        return f"<IssuItemInformation><ItemDetail>{body}</ItemDetail></IssuItemInformation>"
    return f"<IssuItemInformation>{body}</IssuItemInformation>"


def einvoice_xml(
    spec: Spec, *, rate_style: str = "fraction", detail: bool = False, namespace: str = ""
) -> bytes:
    """The 数电票 XML as the tax platform hands it out; a PlateNumber comes before the number."""
    special = spec.kind is InvoiceKind.DIGITAL_SPECIAL
    blue = "N" if spec.total < 0 else "Y"
    lines = "".join(_einvoice_line(line, rate_style, detail) for line in spec.lines)
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    words = spec.words.replace("圆", "元")
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<EInvoice{xmlns}><Header><EIid>{spec.number}</EIid><EInvoiceTag>SWEI3100</EInvoiceTag>
<Version>0.32</Version><InherentLabel>
<InIssuType><LabelCode>{blue}</LabelCode><LabelName>是否蓝字发票标志</LabelName></InIssuType>
<EInvoiceType><LabelCode>02</LabelCode><LabelName>电子发票</LabelName></EInvoiceType>
<GeneralOrSpecialVAT><LabelCode>{"01" if special else "02"}</LabelCode>
<LabelName>{"增值税专用发票" if special else "普通发票"}</LabelName></GeneralOrSpecialVAT>
</InherentLabel></Header>
<EInvoiceData>
<SpecificInformation><Toll><PlateNumber>98765432109876543210</PlateNumber></Toll></SpecificInformation>
<SellerInformation><SellerIdNum>{spec.seller_id}</SellerIdNum><SellerName>{spec.seller_name}</SellerName>
<SellerAddr/></SellerInformation>
<BuyerInformation><BuyerIdNum>{spec.buyer_id}</BuyerIdNum><BuyerName>{spec.buyer_name}</BuyerName>
</BuyerInformation>
<BasicInformation><TotalAmWithoutTax>{spec.amount}</TotalAmWithoutTax><TotalTaxAm>{spec.tax}</TotalTaxAm>
<TotalTax-includedAmount>{spec.total}</TotalTax-includedAmount>
<TotalTax-includedAmountInChinese>{words}</TotalTax-includedAmountInChinese>
<Drawer>示例开票员</Drawer><RequestTime>{spec.issued} 12:51:03</RequestTime></BasicInformation>
{lines}
<AdditionalInformation><Remark/></AdditionalInformation>
</EInvoiceData>
<TaxSupervisionInfo><InvoiceNumber>{spec.number}</InvoiceNumber><IssueTime>{spec.issued}</IssueTime>
<TaxBureauCode>13100000000</TaxBureauCode><TaxBureauName>国家税务总局示例市税务局</TaxBureauName>
</TaxSupervisionInfo></EInvoice>"""
    return text.encode()


def fp_einvoice_xml(spec: Spec, *, broken_prefix: bool = False) -> bytes:
    """The older eInvoice (original_invoice.xml): unprefixed root, fp: children."""
    goods = "".join(
        f"<fp:GoodsInfo><fp:Item>{escape(line.name)}</fp:Item><fp:Specification/>"
        f"<fp:MeasurementDimension>{line.unit}</fp:MeasurementDimension>"
        f"<fp:Price>{line.amount}</fp:Price><fp:Quantity>{line.quantity}</fp:Quantity>"
        f"<fp:Amount>{line.amount}</fp:Amount><fp:TaxScheme>{line.rate}</fp:TaxScheme>"
        f"<fp:TaxAmount>{line.tax}</fp:TaxAmount></fp:GoodsInfo>"
        for line in spec.lines
    )
    root = '<:eInvoice xmlns:="" ' if broken_prefix else "<eInvoice "
    close = "</:eInvoice>" if broken_prefix else "</eInvoice>"
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
{root}xmlns:fp="http://www.edrm.org.cn/schema/e-invoice/2019" Version="1.0">
<fp:InvoiceCode>{spec.code}</fp:InvoiceCode><fp:InvoiceNo>{spec.number}</fp:InvoiceNo>
<fp:TypeCode>0</fp:TypeCode><fp:IssueDate>{spec.issued:%Y年%m月%d日}</fp:IssueDate>
<fp:InvoiceCheckCode>{spec.check_code}</fp:InvoiceCheckCode><fp:MachineNo>499000000000</fp:MachineNo>
<fp:Buyer><fp:BuyerName>{spec.buyer_name}</fp:BuyerName><fp:BuyerTaxID>{spec.buyer_id}</fp:BuyerTaxID>
</fp:Buyer><fp:Seller><fp:SellerName>{spec.seller_name}</fp:SellerName>
<fp:SellerTaxID>{spec.seller_id}</fp:SellerTaxID></fp:Seller>
<fp:TaxInclusiveTotalAmount>{spec.total}</fp:TaxInclusiveTotalAmount>
<fp:TaxTotalAmount>{spec.tax}</fp:TaxTotalAmount>
<fp:TaxExclusiveTotalAmount>{spec.amount}</fp:TaxExclusiveTotalAmount>
<fp:GraphCode>{spec.qr_payload}</fp:GraphCode>
<fp:GoodsInfos>{goods}</fp:GoodsInfos>{close}"""
    return text.encode()


_XBRL_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<xbrli:xbrl xmlns:xbrli="http://www.xbrl.org/2003/instance" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:{p}="{ns}">'
    '<xbrli:context id="c"><xbrli:entity><xbrli:identifier scheme="x">{number}'
    "</xbrli:identifier></xbrli:entity></xbrli:context>"
)


def _facts(prefix: str, facts: dict[str, object]) -> str:
    return "".join(
        f'<{prefix}:{k} contextRef="c">{escape(str(v))}</{prefix}:{k}>' for k, v in facts.items()
    )


def _rail_facts(spec: Spec, buyer: dict[str, object]) -> tuple[str, str, dict[str, object]]:
    prefix, ns = "rai", "http://xbrl.mof.gov.cn/taxonomy/2021-11-30/rai"
    facts: dict[str, object] = {
        "TypeOfVoucher": spec.title,
        "ElectronicInvoiceRailwayETicketNumber": spec.number,
        "ElectronicTicketNum": "E123456789",
        "DateOfIssue": spec.issued,
        **buyer,
        "Fare": spec.total,
        "TotalAmountExcludingTax": spec.amount,
        "TaxRate": "0.09",
        "TaxAmount": spec.tax,
        "TrainNumber": spec.extra["train"],
        "TravelDate": spec.issued,
        "DepartureStation": spec.extra["from"],
        "DestinationStation": spec.extra["to"],
        "SeatLevel": "二等座",
        "Name": spec.extra["passenger"],
        "TypeOfBusiness": "",
    }
    return prefix, ns, facts


def _air_facts(spec: Spec, buyer: dict[str, object]) -> tuple[str, str, dict[str, object]]:
    prefix, ns = "atr", "http://xbrl.mof.gov.cn/taxonomy/2021-11-30/atr"
    facts: dict[str, object] = {
        "ElectronicInvoiceAirTransportReceiptNumber": spec.number,
        "IssueDate": spec.issued,
        **buyer,
        "NameOfSeller": spec.seller_name,
        "PassengerName": spec.extra["passenger"],
        "ETicketNumber": "7810000000001",
        "Fare": "1150.00",
        "FuelSurcharge": "50.00",
        "CivilAviationDevelopmentFund": "50.00",
        "VatRate": "0.09",
        "VatTaxAmount": spec.tax,
        "TotalAmount": spec.total,
        "Flight": spec.extra["flight"],
        "DepartureStation": spec.extra["from"],
        "DestinationStation": spec.extra["to"],
    }
    return prefix, ns, facts


def _inv_facts(spec: Spec, buyer: dict[str, object]) -> tuple[str, str, dict[str, object]]:
    prefix, ns = "inv", "http://xbrl.mof.gov.cn/taxonomy/2021-09-30/inv"
    facts: dict[str, object] = {
        "TypeOfInvoice": spec.title,
        "CodeOfInvoice": spec.code,
        "NumberOfInvoice": spec.number,
        "IdentifyingCode": spec.check_code,
        "DateOfIssue": spec.issued,
        "NameOfPurchaser": spec.buyer_name,
        "TaxpayerIdentificationNumberUnifiedSocialCreditCodeOfPurchaser": spec.buyer_id,
        "NameOfSeller": spec.seller_name,
        "TaxpayerIdentificationNumberUnifiedSocialCreditCodeOfSeller": spec.seller_id,
        "TotalAmountExcludingTax": spec.amount,
        "TotalTaxAmount": spec.tax,
        "TaxIncludedAmountInFigures": spec.total,
        "TaxIncludedAmountInWords": spec.words,
    }
    return prefix, ns, facts


def xbrl_xml(spec: Spec) -> bytes:
    """The 财政部 XBRL voucher for a railway, air or older 普票 spec."""
    buyer: dict[str, object] = {
        "NameOfPurchaser": spec.buyer_name,
        "UnifiedSocialCreditCodeOfPurchaser": spec.buyer_id,
    }
    build = {InvoiceKind.RAILWAY: _rail_facts, InvoiceKind.AIR: _air_facts}.get(
        spec.kind, _inv_facts
    )
    prefix, ns, facts = build(spec, buyer)
    body = _facts(prefix, facts)
    if spec.kind not in (InvoiceKind.RAILWAY, InvoiceKind.AIR):
        body += "".join(
            f"<{prefix}:InformationOfTaxableGoodsOrServicesDetailItemsTuple>"
            + _facts(
                prefix,
                {
                    "NameOfTaxableGoodsOrServices": line.name,
                    "AmountExcludingTax": line.amount,
                    "TaxRate": line.rate,
                    "TaxAmount": line.tax,
                },
            )
            + f"</{prefix}:InformationOfTaxableGoodsOrServicesDetailItemsTuple>"
            for line in spec.lines
        )
    body += f'<{prefix}:OtherTaxes xsi:nil="true" contextRef="c"/>'
    return (
        _XBRL_HEAD.format(p=prefix, ns=ns, number=spec.number) + body + "</xbrli:xbrl>"
    ).encode()
